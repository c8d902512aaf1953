/** The values the kubernetes global setup hands to test files through vitest's provide()/inject(). */
declare module 'vitest' {
  export interface ProvidedContext {
    /** Control endpoint of the global setup (http://127.0.0.1:<port>/<token>), or '' when skipped. */
    k8sControl: string;
    /** Why the kubernetes tests skip ('' when the harness is available). */
    k8sSkipReason: string;
  }
}

export {};
