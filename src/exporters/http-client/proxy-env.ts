/** The variables Node's built-in proxy support reads (`http.Agent` option `proxyEnv`, Node ≥ 22.21 / 24.5). */
const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'] as const;

/** What `proxyEnv` of a node:http/https Agent takes: the proxy variables, nothing else of the environment. */
export type ProxyEnv = Partial<Record<(typeof PROXY_VARIABLES)[number], string>>;

/**
 * The proxy settings of the environment for an exporter's agent: `HTTPS_PROXY` for https endpoints,
 * `HTTP_PROXY` for http ones, `NO_PROXY` (comma-separated hosts, `.suffix`, `*`, `host:port`) to bypass them;
 * the lowercase spellings win when both are set (Node's rule, also curl's). HTTPS goes through the proxy in a
 * CONNECT tunnel: TLS is end to end, verified against the agent's CA like a direct connection. Undefined when no
 * proxy variable is set (the agent then connects directly, as before).
 */
export function proxyEnvFrom(env: NodeJS.ProcessEnv = process.env): ProxyEnv | undefined {
  const picked: ProxyEnv = {};
  for (const name of PROXY_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value !== '') picked[name] = value;
  }
  return Object.keys(picked).length === 0 ? undefined : picked;
}
