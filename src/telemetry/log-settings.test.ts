import { describe, expect, it } from 'vitest';
import { resolveLogSettings } from './log-settings.js';

describe('resolveLogSettings', () => {
  const config = { level: 'warn', encoding: 'json' } as const;

  it('precedence: flag > environment > config > info/json', () => {
    expect(resolveLogSettings({})).toEqual({ ok: true, settings: { level: 'info', format: 'json' } });
    expect(resolveLogSettings({ config })).toEqual({ ok: true, settings: { level: 'warn', format: 'json' } });
    expect(resolveLogSettings({ config, env: { LOG_LEVEL: 'debug', LOG_FORMAT: 'pretty' } })).toEqual({
      ok: true,
      settings: { level: 'debug', format: 'pretty' },
    });
    expect(
      resolveLogSettings({
        config,
        env: { LOG_LEVEL: 'debug', LOG_FORMAT: 'pretty' },
        flags: { logLevel: 'error', logFormat: 'json' },
      }),
    ).toEqual({ ok: true, settings: { level: 'error', format: 'json' } });
  });

  it('an empty variable counts as unset; case does not matter; the Collector`s `console` encoding is pretty', () => {
    expect(resolveLogSettings({ config, env: { LOG_LEVEL: '' } })).toEqual({
      ok: true,
      settings: { level: 'warn', format: 'json' },
    });
    expect(resolveLogSettings({ env: { LOG_LEVEL: 'DEBUG', LOG_FORMAT: 'Console' } })).toEqual({
      ok: true,
      settings: { level: 'debug', format: 'pretty' },
    });
    expect(resolveLogSettings({ config: { level: 'info', encoding: 'console' } })).toEqual({
      ok: true,
      settings: { level: 'info', format: 'pretty' },
    });
  });

  it('reports an unknown level or format with where it came from', () => {
    expect(resolveLogSettings({ env: { LOG_LEVEL: 'loud' }, flags: { logFormat: 'xml' } })).toEqual({
      ok: false,
      problems: [
        'LOG_LEVEL must be one of trace, debug, info, warn, error (got "loud")',
        '--log-format must be one of json, pretty (got "xml")',
      ],
    });
  });
});
