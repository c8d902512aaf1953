import { describe, expect, it } from 'vitest';
import { ObjectError } from '../../component/errors.js';
import { effectiveRequests } from './resource-lists.js';
import { pod, requests } from './testdata/builders.js';

const GI = 1n << 30n;

describe('effectiveRequests', () => {
  it('sums app containers', () => {
    const p = pod('ns', 'p', {
      containers: [requests({ cpu: '500m', memory: '1Gi' }), requests({ cpu: '1.5', memory: '512Mi' })],
    });
    expect(effectiveRequests(p)).toEqual(
      new Map([
        ['cpu', 2000n],
        ['memory', GI + GI / 2n],
      ]),
    );
  });

  it('takes the max of init containers and the app sum, per resource, then adds overhead', () => {
    const p = pod('ns', 'p', {
      initContainers: [requests({ cpu: '4', memory: '256Mi' }), requests({ cpu: '1', 'nvidia.com/gpu': '2' })],
      containers: [requests({ cpu: '1', memory: '1Gi', 'nvidia.com/gpu': '1' }), requests({ cpu: '1' })],
      overhead: { cpu: '250m', memory: '120Mi' },
    });
    expect(effectiveRequests(p)).toEqual(
      new Map([
        ['cpu', 4250n],
        ['memory', GI + 120n * (1n << 20n)],
        ['nvidia.com/gpu', 2n],
      ]),
    );
  });

  it('ignores resources that are not billed, even malformed ones', () => {
    const p = pod('ns', 'p', {
      containers: [requests({ cpu: '1', 'ephemeral-storage': 'lots', 'vpc.amazonaws.com/efa': '1' })],
    });
    expect(effectiveRequests(p)).toEqual(new Map([['cpu', 1000n]]));
  });

  it('names the object and the field of a bad quantity', () => {
    const p = pod('team-a', 'trainer', { containers: [requests({ cpu: '1' }), requests({ cpu: '12x' })] });
    expect(() => effectiveRequests(p)).toThrow(ObjectError);
    expect(() => effectiveRequests(p)).toThrow(
      'Pod/team-a/trainer: spec.containers[1].resources.requests.cpu "12x" is not a quantity: unknown suffix "x"',
    );
  });

  it('names a bad init container and overhead', () => {
    expect(() => effectiveRequests(pod('ns', 'p', { initContainers: [requests({ memory: '-1Gi' })] }))).toThrow(
      /spec.initContainers\[0\].resources.requests.memory "-1Gi" is not a quantity: must not be negative/,
    );
    expect(() => effectiveRequests(pod('ns', 'p', { overhead: { cpu: '' } }))).toThrow(/spec.overhead.cpu "" .*empty/);
  });
});
