import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type MeteredObject, type ObjectEvent, objectRef } from '../../metering/objects.js';
import { loadScenario } from './load-scenario.js';
import { buildTimeline, scenarioEnd, type Timeline } from './timeline.js';

const DAY = 86_400_000;
const aiCloud = loadScenario('ai-cloud');
const tiny = loadScenario(fileURLToPath(new URL('./testdata/tiny.yaml', import.meta.url)));

function digest(events: Iterable<ObjectEvent>): { count: number; sha1: string } {
  const h = createHash('sha1');
  let count = 0;
  for (const e of events) {
    h.update(JSON.stringify(e));
    count += 1;
  }
  return { count, sha1: h.digest('hex') };
}

/** Independent replay: objects by `Kind/namespace/name`, checking every event's consistency on the way. */
function replay(timeline: Timeline, t: number): MeteredObject[] {
  const live = new Map<string, MeteredObject>();
  for (const e of timeline.events()) {
    if (e.at > t) break;
    const ref = objectRef(e.object);
    if (e.type === 'upsert') live.set(ref, e.object);
    else live.delete(ref);
  }
  return [...live.values()];
}

const byUid = (objects: MeteredObject[]) => [...objects].sort((a, b) => a.uid.localeCompare(b.uid));

describe('buildTimeline', () => {
  it('is deterministic by seed', () => {
    const a = digest(buildTimeline(aiCloud, { duration: 2 * DAY }).events());
    const b = digest(buildTimeline(aiCloud, { duration: 2 * DAY }).events());
    const c = digest(buildTimeline(aiCloud, { duration: 2 * DAY, seed: aiCloud.seed + 1 }).events());
    expect(a.count).toBeGreaterThan(1000);
    expect(b).toEqual(a);
    expect(c.sha1).not.toBe(a.sha1);
  });

  it('keeps the events of a shorter run identical to the start of a longer one', () => {
    const short = [...buildTimeline(aiCloud, { duration: DAY }).events()];
    const long = buildTimeline(aiCloud, { duration: 2 * DAY }).events();
    const prefix: ObjectEvent[] = [];
    for (const e of long) {
      if (e.at >= aiCloud.start + DAY) break;
      prefix.push(e);
    }
    expect(digest(prefix)).toEqual(digest(short));
  });

  it('yields events in time order within [start, end), consistent with the objects in force', () => {
    const timeline = buildTimeline(aiCloud, { duration: 3 * DAY });
    expect(timeline.end).toBe(scenarioEnd(aiCloud, { duration: 3 * DAY }));
    const live = new Map<string, MeteredObject>();
    let last = timeline.start;
    for (const e of timeline.events()) {
      expect(e.at).toBeGreaterThanOrEqual(last);
      expect(e.at).toBeLessThan(timeline.end);
      last = e.at;
      const o = e.object;
      const ref = objectRef(o);
      const prev = live.get(ref);
      if (o.namespace !== undefined) expect(live.has(`Namespace/${o.namespace}`), ref).toBe(true);
      if (e.type === 'delete') {
        expect(prev?.uid, ref).toBe(o.uid);
        expect(o.deletingAt).toBe(e.at);
        live.delete(ref);
        if (o.kind === 'Node') {
          for (const p of live.values()) if (p.kind === 'Pod') expect(p.nodeName, ref).not.toBe(o.name);
        }
        continue;
      }
      if (!prev) expect(o.createdAt, `first event of ${ref}`).toBe(e.at);
      else expect(prev.uid).toBe(o.uid);
      if (o.kind === 'Pod') {
        if (o.nodeName !== undefined) expect(live.get(`Node/${o.nodeName}`)?.kind, ref).toBe('Node');
        if (o.phase === 'Running' && (prev as typeof o | undefined)?.phase !== 'Running')
          expect(o.startedAt).toBe(e.at);
        if (o.phase === 'Succeeded' || o.phase === 'Failed') expect(o.finishedAt).toBe(e.at);
      }
      live.set(ref, o);
    }
  });

  it('objectsAt(t) equals replaying every event with at ≤ t', () => {
    const timeline = buildTimeline(aiCloud, { duration: 2 * DAY });
    const events = [...timeline.events()];
    const instants = [
      timeline.start - 1,
      timeline.start,
      (events[500] as ObjectEvent).at,
      (events[events.length >> 1] as ObjectEvent).at,
      timeline.start + DAY + 12_345,
      timeline.end,
    ];
    for (const t of instants) {
      expect(byUid(timeline.objectsAt(t)), `t=${t}`).toEqual(byUid(replay(timeline, t)));
    }
    expect(timeline.objectsAt(timeline.start - 1)).toEqual([]);
  });

  it('events(after) gives exactly the events after a resume point', () => {
    const timeline = buildTimeline(tiny);
    const all = [...timeline.events()];
    const cut = (all[7] as ObjectEvent).at;
    expect([...timeline.events(cut)]).toEqual(all.filter((e) => e.at > cut));
  });

  it('gives every object incarnation its own uid', () => {
    const uids = new Map<string, string>();
    for (const e of buildTimeline(aiCloud, { duration: 3 * DAY }).events()) {
      const ref = `${objectRef(e.object)}@${e.object.createdAt}`;
      const known = uids.get(e.object.uid);
      if (known !== undefined) expect(known).toBe(ref);
      else uids.set(e.object.uid, ref);
    }
  });
});
