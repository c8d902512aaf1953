import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** The vendored opentelemetry-proto files (proto/SOURCE.md), parsed once per process. */
const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));
const REQUEST = 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest';
const RESPONSE = 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse';

/** The subset of the decoded message the receiver reads (protobufjs camelCase field names). */
export interface AnyValueMessage {
  readonly stringValue?: string;
  readonly boolValue?: boolean;
  readonly intValue?: LongLike | number | string;
  readonly doubleValue?: number;
}
export interface KeyValueMessage {
  readonly key: string;
  readonly value?: AnyValueMessage | null;
}
export interface NumberDataPointMessage {
  readonly attributes?: readonly KeyValueMessage[];
  readonly startTimeUnixNano?: LongLike | number | string;
  readonly timeUnixNano?: LongLike | number | string;
  readonly asDouble?: number;
  readonly asInt?: LongLike | number | string;
  readonly flags?: number;
}
export interface MetricMessage {
  readonly name: string;
  readonly sum?: {
    readonly dataPoints?: readonly NumberDataPointMessage[];
    readonly aggregationTemporality?: number;
    readonly isMonotonic?: boolean;
  } | null;
  readonly gauge?: { readonly dataPoints?: readonly NumberDataPointMessage[] } | null;
  readonly histogram?: { readonly dataPoints?: readonly unknown[] } | null;
  readonly exponentialHistogram?: { readonly dataPoints?: readonly unknown[] } | null;
  readonly summary?: { readonly dataPoints?: readonly unknown[] } | null;
}
export interface ExportRequestMessage {
  readonly resourceMetrics?: readonly {
    readonly resource?: { readonly attributes?: readonly KeyValueMessage[] } | null;
    readonly scopeMetrics?: readonly { readonly metrics?: readonly MetricMessage[] }[];
  }[];
}

/** protobufjs' 64-bit integer (the `long` package) as it decodes fixed64/int64 fields. */
export interface LongLike {
  readonly low: number;
  readonly high: number;
  readonly unsigned?: boolean;
}

/** Thrown for a body that is not an OTLP metrics request (answered 400, never retried). */
export class MalformedRequestError extends Error {}

let types: { request: protobuf.Type; response: protobuf.Type } | undefined;

function load(): { request: protobuf.Type; response: protobuf.Type } {
  if (types) return types;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => PROTO_DIR + target;
  root.loadSync('opentelemetry/proto/collector/metrics/v1/metrics_service.proto');
  // The oneofs become plain optional fields: protobufjs' oneof setter deletes the other members on every
  // decoded value (slow, and it turns each point into a dictionary-mode object). Which member is set is then
  // the one own property (`Object.hasOwn(point, 'asInt')`), which the receiver reads.
  for (const name of [
    'opentelemetry.proto.metrics.v1.Metric',
    'opentelemetry.proto.metrics.v1.NumberDataPoint',
    'opentelemetry.proto.metrics.v1.Exemplar',
    'opentelemetry.proto.common.v1.AnyValue',
  ]) {
    const type = root.lookupType(name);
    for (const oneof of [...type.oneofsArray]) {
      for (const field of [...oneof.fieldsArray]) oneof.remove(field);
      type.remove(oneof);
    }
  }
  types = { request: root.lookupType(REQUEST), response: root.lookupType(RESPONSE) };
  return types;
}

/** Decodes an OTLP/HTTP metrics body: binary protobuf, or OTLP/JSON (unknown fields ignored). */
export function decodeRequest(body: Buffer, json: boolean): ExportRequestMessage {
  const { request } = load();
  try {
    if (!json) return request.decode(body) as unknown as ExportRequestMessage;
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new MalformedRequestError('the JSON body is not an object');
    }
    // fromObject drops unknown keys (OTLP/JSON: receivers MUST ignore them) and reads int64 strings.
    return request.fromObject(parsed) as unknown as ExportRequestMessage;
  } catch (err) {
    if (err instanceof MalformedRequestError) throw err;
    throw new MalformedRequestError(err instanceof Error ? err.message : String(err));
  }
}

/** The ExportMetricsServiceResponse: empty on full success, else `partial_success`. */
export function encodeResponse(
  json: boolean,
  partial?: { readonly rejectedDataPoints: number; readonly errorMessage: string },
): Buffer {
  const { response } = load();
  const object = partial
    ? { partialSuccess: { rejectedDataPoints: String(partial.rejectedDataPoints), errorMessage: partial.errorMessage } }
    : {};
  if (json) {
    const jsonObject = partial
      ? {
          partialSuccess: {
            rejectedDataPoints: String(partial.rejectedDataPoints),
            errorMessage: partial.errorMessage,
          },
        }
      : {};
    return Buffer.from(JSON.stringify(jsonObject));
  }
  return Buffer.from(response.encode(response.fromObject(object)).finish());
}

/** Encodes a request (tests and the benchmark send what a Collector sends). */
export function encodeRequest(request: object): Buffer {
  const { request: type } = load();
  return Buffer.from(type.encode(type.fromObject(request)).finish());
}

/** The last time converted: the points of one scrape share their timestamps, so most conversions repeat. */
let lastLow = 0;
let lastHigh = 0;
let lastValue = 0n;

/** An unsigned 64-bit field (fixed64 times) as a bigint; absent or 0 → 0n. */
export function unsignedOf(v: LongLike | number | string | undefined): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'string') return BigInt(v);
  if (v.low === lastLow && v.high === lastHigh) return lastValue;
  lastLow = v.low;
  lastHigh = v.high;
  lastValue = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return lastValue;
}

/** A signed 64-bit field (sfixed64 `as_int`, int64 `int_value`) as a bigint. */
export function signedOf(v: LongLike | number | string | undefined): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'string') return BigInt(v);
  return BigInt.asIntN(64, (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0));
}
