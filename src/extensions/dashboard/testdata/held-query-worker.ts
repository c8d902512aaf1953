import { parentPort, workerData } from 'node:worker_threads';

/**
 * A query worker for the pool's tests: each query waits until the test opens the gate (`gate[0] = 1`) or the
 * pool aborts it (its id in the abort cell), then answers its query back as JSON. `gate[1]` counts the
 * queries it started.
 */
const abort = new Int32Array((workerData as { abort: SharedArrayBuffer }).abort);
const gate = new Int32Array((workerData as { gate: SharedArrayBuffer }).gate);

parentPort?.on('message', (request: { id: number; query: unknown }) => {
  Atomics.add(gate, 1, 1);
  while (Atomics.load(gate, 0) === 0) {
    if (Atomics.load(abort, 0) === request.id) {
      parentPort?.postMessage({ id: request.id, error: 'abandoned', reason: 'aborted' });
      return;
    }
    Atomics.wait(gate, 0, 0, 5);
  }
  parentPort?.postMessage({ id: request.id, body: JSON.stringify(request.query) });
});
