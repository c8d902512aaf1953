export {
  bodyExcerpt,
  type ClassifyOptions,
  classifyResponse,
  httpStatusOf,
  parseRetryAfter,
  redactHeaders,
} from './classify-response.js';
export { type ProxyEnv, proxyEnvFrom } from './proxy-env.js';
export { readApiKey } from './secret.js';
export { HttpClient, type HttpClientOptions, type HttpRequest, type HttpResponse } from './http-client.js';
export { type TlsSettings, tlsSettingsSchema } from './tls-config.js';
export { printableEndpoint } from './printable-endpoint.js';
