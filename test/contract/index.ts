export { loadOpenApi, type OpenApiSpec, specPath, validateRequest } from './openapi.js';
export {
  type FaultOptions,
  matchTemplate,
  reply,
  startVendorServer,
  type VendorHandler,
  type VendorReply,
  type VendorRequest,
  type VendorRoute,
  type VendorServer,
  type VendorServerOptions,
} from './vendor-server.js';
export { LagoVendor, type LagoVendorOptions, type StoredLagoEvent } from './lago-vendor.js';
