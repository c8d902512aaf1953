import { BlockList, isIP } from 'node:net';

/**
 * Where a tenant kubeconfig taken as written may point (`tenant_clusters.allowed_networks`): CIDRs for
 * servers given as IP addresses (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1/32`), exact host names
 * (`api.tenant.example.com`) and `*.suffix` patterns (`*.svc.cluster.local`, any depth) for named ones.
 * Host names are never resolved here: a name is judged as written (DNS could change under it), so list
 * the names themselves, not the addresses they resolve to. The empty list allows nothing.
 */
export class AllowedNetworks {
  private readonly blocks = new BlockList();
  private readonly names = new Set<string>();
  private readonly suffixes: string[] = [];

  constructor(readonly entries: readonly string[]) {
    for (const entry of entries) {
      const parsed = parseNetworkEntry(entry);
      if (typeof parsed === 'string') throw new Error(`allowed_networks: ${parsed}`);
      if (parsed.type === 'cidr') this.blocks.addSubnet(parsed.address, parsed.prefix, parsed.family);
      else if (parsed.type === 'suffix') this.suffixes.push(parsed.suffix);
      else this.names.add(parsed.name);
    }
  }

  /** Whether `host` (an IP address or a host name, without port or brackets) is allowed. */
  allows(host: string): boolean {
    const h = host.toLowerCase().replace(/\.$/, '');
    const family = isIP(h);
    if (family !== 0) return this.blocks.check(h, family === 4 ? 'ipv4' : 'ipv6');
    return this.names.has(h) || this.suffixes.some((s) => h.endsWith(s) && h.length > s.length);
  }
}

type NetworkEntry =
  | { readonly type: 'cidr'; readonly address: string; readonly prefix: number; readonly family: 'ipv4' | 'ipv6' }
  | { readonly type: 'name'; readonly name: string }
  | { readonly type: 'suffix'; readonly suffix: string };

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)*$/;

/** One `allowed_networks` entry, or why it is not one. */
export function parseNetworkEntry(entry: string): NetworkEntry | string {
  const text = entry.trim().toLowerCase();
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const address = text.slice(0, slash);
    const prefixText = text.slice(slash + 1);
    const family = isIP(address);
    const max = family === 4 ? 32 : 128;
    if (family === 0 || !/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      return `${JSON.stringify(entry)} is not a CIDR such as 10.0.0.0/8`;
    }
    return { type: 'cidr', address, prefix: Number(prefixText), family: family === 4 ? 'ipv4' : 'ipv6' };
  }
  if (isIP(text) !== 0)
    return `${JSON.stringify(entry)}: write an address as a CIDR (${text}/${isIP(text) === 4 ? 32 : 128})`;
  if (text.startsWith('*.')) {
    const rest = text.slice(2);
    if (!HOST_NAME.test(rest)) return `${JSON.stringify(entry)} is not a pattern such as *.svc.cluster.local`;
    return { type: 'suffix', suffix: `.${rest}` };
  }
  if (!HOST_NAME.test(text)) return `${JSON.stringify(entry)} is neither a CIDR nor a host name`;
  return { type: 'name', name: text };
}
