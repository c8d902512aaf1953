import type { Host, Readiness } from '../../src/component/component.js';

/** A Readiness for tests that do not look at it. */
export const READY: Readiness = { state: 'running', storeOpen: true, receivers: [], outbox: [] };

/** A Host for component tests: pass what the component uses, the rest throws when touched. */
export function testHost(parts: Partial<Host> = {}): Host {
  const missing = (what: string) => () => {
    throw new Error(`test host: ${what} not provided`);
  };
  return {
    store: parts.store ?? missing('store'),
    meterProvider: parts.meterProvider ?? missing('meterProvider'),
    requestShutdown: parts.requestShutdown ?? (() => {}),
    readiness: parts.readiness ?? (() => READY),
    ...(parts.serviceFacts ? { serviceFacts: parts.serviceFacts } : {}),
  };
}
