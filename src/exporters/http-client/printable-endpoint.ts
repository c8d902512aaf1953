/**
 * How an endpoint is printed (messages, logs, `/readyz`, the dashboard): scheme, host and port only, with `/…`
 * when it has a path or query (either may hold a token: `http://host/hooks/<token>`).
 */
export function printableEndpoint(endpoint: string | URL): string {
  let url: URL;
  try {
    url = typeof endpoint === 'string' ? new URL(endpoint) : endpoint;
  } catch {
    return '[invalid URL]';
  }
  const hidden = (url.pathname !== '' && url.pathname !== '/') || url.search !== '';
  return `${url.protocol}//${url.host}${hidden ? '/…' : ''}`;
}
