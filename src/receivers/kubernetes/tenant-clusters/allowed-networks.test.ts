import { describe, expect, it } from 'vitest';
import { AllowedNetworks, parseNetworkEntry } from './allowed-networks.js';

describe('AllowedNetworks', () => {
  const allowed = new AllowedNetworks([
    '10.0.0.0/8',
    '127.0.0.1/32',
    'fd00::/8',
    'api.acme.example',
    '*.svc.cluster.local',
  ]);

  it('allows IPs inside a CIDR and refuses the rest', () => {
    expect(allowed.allows('10.1.2.3')).toBe(true);
    expect(allowed.allows('127.0.0.1')).toBe(true);
    expect(allowed.allows('127.0.0.2')).toBe(false);
    expect(allowed.allows('11.0.0.1')).toBe(false);
    expect(allowed.allows('fd12::1')).toBe(true);
    expect(allowed.allows('2001:db8::1')).toBe(false);
  });

  it('matches names exactly or by *.suffix, never by resolving them', () => {
    expect(allowed.allows('api.acme.example')).toBe(true);
    expect(allowed.allows('API.acme.example.')).toBe(true);
    expect(allowed.allows('evil.api.acme.example')).toBe(false);
    expect(allowed.allows('vc.tenant-a.svc.cluster.local')).toBe(true);
    expect(allowed.allows('svc.cluster.local')).toBe(false);
    expect(allowed.allows('svc.cluster.local.evil.example')).toBe(false);
    expect(allowed.allows('localhost')).toBe(false);
  });

  it('allows nothing when empty', () => {
    expect(new AllowedNetworks([]).allows('10.0.0.1')).toBe(false);
  });

  it('says why an entry is not one', () => {
    expect(parseNetworkEntry('10.0.0.0/33')).toMatch(/not a CIDR/);
    expect(parseNetworkEntry('10.0.0.1')).toMatch(/as a CIDR \(10\.0\.0\.1\/32\)/);
    expect(parseNetworkEntry('*.')).toMatch(/not a pattern/);
    expect(parseNetworkEntry('bad_name!')).toMatch(/neither a CIDR nor a host name/);
    expect(() => new AllowedNetworks(['nope!'])).toThrow(/allowed_networks/);
  });
});
