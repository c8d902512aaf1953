import { ObjectError } from '../../component/errors.js';
import type { ContainerResources, NodeObject, PodObject } from '../objects.js';
import { objectRef } from '../objects.js';
import { parseQuantity, QuantityError, type QuantityUnit } from '../quantity.js';
import { isGpuResource } from './gpu-shares.js';
import { WELL_KNOWN } from './well-known.js';

/** Parsed amounts by resource name: cpu in millicores, memory in bytes, GPU resources in devices. */
export type ResourceAmounts = ReadonlyMap<string, bigint>;

/** Only billed resources are parsed; a malformed quantity of any other resource is ignored. */
function isBilled(name: string): boolean {
  return name === WELL_KNOWN.cpu || name === WELL_KNOWN.memory || isGpuResource(name);
}

/**
 * Parses the billed entries of a resource list (`{ cpu: '500m', memory: '1Gi', … }`).
 * Throws ObjectError naming `ref` and the field path (`<path>.cpu "12x" is not a quantity: …`).
 */
export function parseResourceList(ref: string, path: string, list: unknown): Map<string, bigint> {
  const out = new Map<string, bigint>();
  if (list === undefined || list === null) return out;
  if (typeof list !== 'object' || Array.isArray(list)) throw new ObjectError(ref, `${path} is not a resource list`);
  for (const [name, text] of Object.entries(list as Record<string, unknown>)) {
    if (!isBilled(name)) continue;
    out.set(name, parseField(ref, `${path}.${name}`, text, name === WELL_KNOWN.cpu ? 'milli' : 'base'));
  }
  return out;
}

/** Parses one quantity field; throws ObjectError `<path> "12x" is not a quantity: …` naming `ref`. */
export function parseField(ref: string, path: string, text: unknown, unit: QuantityUnit): bigint {
  try {
    if (typeof text !== 'string') throw new QuantityError(String(text), `expected a string, got ${typeof text}`);
    return parseQuantity(text, unit);
  } catch (err) {
    if (err instanceof QuantityError) throw new ObjectError(ref, `${path} ${err.message}`, { cause: err });
    throw err;
  }
}

/** Parsed billed `status.capacity` of a node. */
export function nodeCapacity(node: NodeObject): Map<string, bigint> {
  return parseResourceList(objectRef(node), 'status.capacity', node.capacity);
}

/**
 * The pod's effective request per billed resource, as the scheduler computes it:
 * `max(max over init containers, sum over app containers) + overhead`. Each quantity is rounded up to
 * a whole base unit before it is added.
 */
export function effectiveRequests(pod: PodObject): Map<string, bigint> {
  const ref = objectRef(pod);
  const sum = new Map<string, bigint>();
  for (const [i, c] of containerList(ref, 'containers', pod.containers).entries()) {
    for (const [name, v] of requestsOf(ref, `spec.containers[${i}]`, c)) sum.set(name, (sum.get(name) ?? 0n) + v);
  }
  const result = new Map(sum);
  for (const [i, c] of containerList(ref, 'initContainers', pod.initContainers).entries()) {
    for (const [name, v] of requestsOf(ref, `spec.initContainers[${i}]`, c)) {
      if (v > (result.get(name) ?? 0n)) result.set(name, v);
    }
  }
  for (const [name, v] of parseResourceList(ref, 'spec.overhead', pod.overhead)) {
    result.set(name, (result.get(name) ?? 0n) + v);
  }
  return result;
}

function containerList(ref: string, field: string, list: unknown): readonly ContainerResources[] {
  if (list === undefined && field === 'initContainers') return [];
  if (!Array.isArray(list)) throw new ObjectError(ref, `spec.${field} is missing`);
  return list as ContainerResources[];
}

function requestsOf(ref: string, path: string, c: unknown): Map<string, bigint> {
  if (typeof c !== 'object' || c === null) throw new ObjectError(ref, `${path} is not a container`);
  return parseResourceList(ref, `${path}.resources.requests`, (c as ContainerResources).requests);
}
