import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Host } from '../../component/component.js';
import { StorageError } from '../../component/errors.js';
import { storageFactory } from './factory.js';

const logger = pino({ level: 'silent' });

describe('storageFactory', () => {
  it('has defaults in the schema', () => {
    expect(storageFactory.configSchema.parse({})).toEqual({ path: './meterbridge.db', retention: 720 * 3_600_000 });
    expect(storageFactory.configSchema.parse({ path: '/x/state.db', retention: '48h' })).toEqual({
      path: '/x/state.db',
      retention: 48 * 3_600_000,
    });
  });

  it('rejects unknown keys and bad durations, with their path', () => {
    const unknown = storageFactory.configSchema.safeParse({ pth: 'x' });
    expect(unknown.success).toBe(false);
    const bad = storageFactory.configSchema.safeParse({ retention: '30 days' });
    expect(bad.error?.issues[0]?.path).toEqual(['retention']);
  });

  it('opens the store on start, hands it out, and closes it on shutdown (twice is safe)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mb-ext-'));
    try {
      const config = storageFactory.configSchema.parse({ path: join(dir, 'a', 'state.db') });
      const ext = storageFactory.createExtension({ id: 'storage', logger }, config);
      expect(() => ext.store?.()).toThrow(StorageError);
      await ext.start({} as Host);
      const store = ext.store?.();
      expect(store?.loadCheckpoint()).toBeUndefined();
      await ext.shutdown();
      await ext.shutdown();
      expect(() => ext.store?.()).toThrow(StorageError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says in one info line, with the path, when it created the store from nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mb-ext-'));
    try {
      const lines: { msg: string; path?: string; level: number }[] = [];
      const capture = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
      const config = storageFactory.configSchema.parse({ path: join(dir, 'state.db') });
      for (let i = 0; i < 2; i++) {
        const ext = storageFactory.createExtension({ id: 'storage', logger: capture }, config);
        await ext.start({} as Host);
        await ext.shutdown();
      }
      const opens = lines.filter((l) => /store/.test(l.msg) && l.path === config.path);
      expect(opens.map((l) => l.msg)).toEqual(['store created', 'state store opened']);
      expect(opens[0]!.level).toBe(30);
      expect(lines.filter((l) => l.msg === 'store created')).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shuts down without start', async () => {
    const ext = storageFactory.createExtension({ id: 'storage', logger }, storageFactory.configSchema.parse({}));
    await expect(ext.shutdown()).resolves.toBeUndefined();
  });
});
