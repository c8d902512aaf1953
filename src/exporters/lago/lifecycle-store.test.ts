import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../component/errors.js';
import { lagoExporterConfigSchema } from './config.js';
import { defaultStatePath } from './factory.js';
import { LifecycleStore } from './lifecycle-store.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mb-lago-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('lago lifecycle store', () => {
  it('reads back what was written, in WAL mode, in one table', () => {
    const path = join(dir, 'sub', 'lago.db');
    const { store, snapshot } = LifecycleStore.open(path);
    expect(snapshot).toEqual({ tenants: [], watermark: undefined });
    store.write([{ subscriptionId: 'acme', customerId: 'acme', firstWindow: 1, checkedAt: 2, lastUsageEnd: 60_000 }]);
    store.write([{ subscriptionId: 'gone', terminatedAt: 120_000 }], 180_000);
    store.write([{ subscriptionId: 'acme', customerId: 'acme', firstWindow: 1, checkedAt: 5, lastUsageEnd: 120_000 }]);
    store.close();

    const again = LifecycleStore.open(path);
    expect(again.snapshot).toEqual({
      tenants: [
        { subscriptionId: 'acme', customerId: 'acme', firstWindow: 1, checkedAt: 5, lastUsageEnd: 120_000 },
        { subscriptionId: 'gone', terminatedAt: 120_000 },
      ],
      watermark: 180_000,
    });
    again.store.close();
    const db = new DatabaseSync(path);
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all()).toEqual([
      { name: 'lago_lifecycle' },
    ]);
    db.close();
  });

  it('allows :memory:', () => {
    const { store, snapshot } = LifecycleStore.open(':memory:');
    expect(snapshot.tenants).toEqual([]);
    store.close();
  });

  it.each([
    ['not a database', (p: string) => writeFileSync(p, Buffer.alloc(2048, 'garbage '))],
    [
      'a foreign table of the same name',
      (p: string) => {
        const db = new DatabaseSync(p);
        db.exec('CREATE TABLE lago_lifecycle (x TEXT)');
        db.close();
      },
    ],
  ])('a file that cannot be used (%s) is a StorageError naming the path and the key', (_what, spoil) => {
    const path = join(dir, 'lago.db');
    spoil(path);
    let error: unknown;
    try {
      LifecycleStore.open(path);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe('MB_STORAGE');
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain('lifecycle.state_path');
  });

  it('defaults the path from the exporter id; the key is optional in the schema', () => {
    expect(defaultStatePath('lago')).toBe('./meterbridge-lago.db');
    expect(defaultStatePath('lago/prod')).toBe('./meterbridge-lago-prod.db');
    const config = lagoExporterConfigSchema.parse({ endpoint: 'http://lago:3000', plan_code: 'p' });
    expect(config.lifecycle.state_path).toBeUndefined();
    expect(
      lagoExporterConfigSchema.parse({
        endpoint: 'http://lago:3000',
        plan_code: 'p',
        lifecycle: { state_path: '/var/lib/meterbridge/lago.db' },
      }).lifecycle.state_path,
    ).toBe('/var/lib/meterbridge/lago.db');
  });
});
