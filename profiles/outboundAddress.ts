import { BlockList, isIP } from 'node:net';

/**
 * The address rule for everything a profile can make the service connect to (token, refresh and
 * revocation endpoints with the client secret, check and API URLs with tokens): outside dev mode no
 * loopback, private, link-local or other special-purpose address, whether written literally, filled
 * in by a template variable or answered by DNS (SECURITY.md #35, #41, #42). An operator whose provider
 * really is on a private network names it in an explicit allow-list.
 */

export interface AddressRule {
  /**
   * Dev mode (and tests): http on loopback, and no address rule at all, as the demo provider and
   * local test servers run on 127.0.0.1.
   */
  readonly allowInsecureLoopback: boolean;
  /** Host names and networks the operator allows although they are internal (OUTBOUND_ALLOWLIST). */
  readonly outboundAllowList?: OutboundAllowList;
}

export interface OutboundAllowList {
  /** The entries as written, for messages. */
  readonly entries: readonly string[];
  /** Exact host names, normalised (lower case, ASCII, no trailing dot). */
  readonly names: ReadonlySet<string>;
  /** From `*.corp.example`: `corp.example`; any name below it matches. */
  readonly suffixes: readonly string[];
  /** Addresses and CIDR networks. */
  readonly addresses: BlockList;
}

export const REFUSED_HOST_MESSAGE = 'must not point at a loopback, private or link-local address';

type Family = 'ipv4' | 'ipv6';

/**
 * IANA's special-purpose registries (RFC 6890 and successors) plus multicast and the deprecated
 * site-local range: nothing an OAuth provider on the internet is reached at. IPv6 forms that embed an
 * IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are refused whole: they are how a loopback
 * or private IPv4 address is smuggled past an IPv4-only rule, and no public provider uses them.
 */
const RANGES: readonly (readonly [network: string, prefix: number, family: Family, kind: string])[] = [
  ['0.0.0.0', 8, 'ipv4', '"this network"'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'shared (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'ipv4', 'documentation'],
  ['192.88.99.0', 24, 'ipv4', '6to4 relay anycast'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['198.51.100.0', 24, 'ipv4', 'documentation'],
  ['203.0.113.0', 24, 'ipv4', 'documentation'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved (and broadcast)'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::', 96, 'ipv6', 'IPv4-compatible'],
  ['::ffff:0:0', 96, 'ipv6', 'IPv4-mapped'],
  ['64:ff9b::', 96, 'ipv6', 'NAT64'],
  ['64:ff9b:1::', 48, 'ipv6', 'NAT64 (local use)'],
  ['100::', 64, 'ipv6', 'discard-only'],
  ['2001::', 32, 'ipv6', 'Teredo'],
  ['2001:2::', 48, 'ipv6', 'benchmarking'],
  ['2001:db8::', 32, 'ipv6', 'documentation'],
  ['2002::', 16, 'ipv6', '6to4'],
  ['3fff::', 20, 'ipv6', 'documentation'],
  ['fc00::', 7, 'ipv6', 'unique local (private)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fec0::', 10, 'ipv6', 'site-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

// One BlockList per range (node's own matcher, SECURITY.md #42), so a refusal can say which kind of
// address it was. An address is only ever checked against ranges of its own family: node's
// BlockList matches IPv4 addresses against an IPv6 `::ffff:0:0/96` rule, which would refuse them all.
const CLASSIFIED = RANGES.map(([network, prefix, family, kind]) => {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return { family, kind, list };
});

/**
 * Names that never lead to a public provider: `localhost` (RFC 6761), mDNS `.local` (RFC 6762),
 * `.internal` (reserved for private use; cloud metadata lives at `metadata.google.internal`),
 * `.home.arpa` (RFC 8375) and `.localdomain`.
 */
const INTERNAL_SUFFIXES = ['localhost', 'local', 'internal', 'home.arpa', 'localdomain'];

/**
 * The comparable form of a host name: brackets and zone removed from IPv6, lower case, trailing
 * dots removed (`localhost.` is `localhost` to DNS). Callers pass hosts that went through the WHATWG
 * URL parser, which already maps IDNA to punycode and IPv4 shorthands (`0x7f.1`) to dotted decimal.
 */
export function normaliseHost(hostname: string): string {
  let host = hostname.trim().toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (isIP(host.split('%')[0] ?? '') === 6) return host.split('%')[0] as string;
  host = host.replace(/\.+$/, '');
  // `127.0.0.1.` is 127.0.0.1 once the dot is gone; the URL parser turns every IPv4 form into this.
  return host;
}

/** The kind of special-purpose range an IP address is in, or undefined for a public address. */
export function addressKind(address: string): string | undefined {
  const ip = address.split('%')[0] ?? '';
  const version = isIP(ip);
  if (version === 0) return undefined;
  const family: Family = version === 4 ? 'ipv4' : 'ipv6';
  return CLASSIFIED.find((range) => range.family === family && range.list.check(ip, family))?.kind;
}

/** Why a host name or literal address is internal by itself (before any DNS), or undefined. */
export function internalHostKind(hostname: string): string | undefined {
  const host = normaliseHost(hostname);
  if (isIP(host) !== 0) return addressKind(host);
  if (host === '' || host.split('.').some((label) => label === '')) return 'malformed';
  if (!host.includes('.')) {
    // A single label is completed by the resolver's search domains: `metadata`, `redis`, `kubernetes`.
    return 'single-label (local network) name';
  }
  if (INTERNAL_SUFFIXES.some((suffix) => host === suffix || host.endsWith(`.${suffix}`)))
    return 'local or internal name';
  return undefined;
}

export function isAllowListedName(hostname: string, list: OutboundAllowList | undefined): boolean {
  if (!list) return false;
  const host = normaliseHost(hostname);
  return list.names.has(host) || list.suffixes.some((suffix) => host.endsWith(`.${suffix}`));
}

export function isAllowListedAddress(address: string, list: OutboundAllowList | undefined): boolean {
  if (!list) return false;
  const ip = address.split('%')[0] ?? '';
  const version = isIP(ip);
  return version !== 0 && list.addresses.check(ip, version === 4 ? 'ipv4' : 'ipv6');
}

/** Save-time and request-time rule for a URL's host; the message for a profile field, or undefined. */
export function hostProblem(hostname: string, rule: AddressRule): string | undefined {
  if (rule.allowInsecureLoopback) return undefined;
  const kind = internalHostKind(hostname);
  if (kind === undefined) return undefined;
  const host = normaliseHost(hostname);
  if (isAllowListedName(host, rule.outboundAllowList)) return undefined;
  if (isIP(host) !== 0 && isAllowListedAddress(host, rule.outboundAllowList)) return undefined;
  return kind === 'malformed' ? 'must name a valid host' : REFUSED_HOST_MESSAGE;
}

/**
 * Request-time rule for one DNS answer: why connecting to `address` (the answer for `hostname`) is
 * refused, or undefined. Names the host and the address, never anything of the request.
 */
export function answerProblem(hostname: string, address: string, rule: AddressRule): string | undefined {
  if (rule.allowInsecureLoopback) return undefined;
  const kind = addressKind(address);
  if (kind === undefined) return undefined;
  if (isAllowListedName(hostname, rule.outboundAllowList)) return undefined;
  if (isAllowListedAddress(address, rule.outboundAllowList)) return undefined;
  return `${normaliseHost(hostname)} resolves to ${address}, a ${kind} address; outbound requests to internal addresses are refused unless allow-listed`;
}

export class OutboundAllowListError extends Error {
  constructor(
    readonly entry: string,
    reason: string,
  ) {
    super(`entry "${entry}" ${reason}`);
    this.name = 'OutboundAllowListError';
  }
}

const HOST_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/**
 * Parses the operator's allow-list: host names (`idp.corp.example`), wildcards (`*.corp.example`),
 * addresses (`10.0.0.5`, `fd00::5`) and networks (`10.20.0.0/16`, `fd00::/8`). Throws an
 * `OutboundAllowListError` naming the first bad entry.
 */
export function parseOutboundAllowList(entries: readonly string[]): OutboundAllowList {
  const names = new Set<string>();
  const suffixes: string[] = [];
  const addresses = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const slash = entry.indexOf('/');
    const addressPart = (slash < 0 ? entry : entry.slice(0, slash)).replace(/^\[(.*)\]$/, '$1');
    const version = isIP(addressPart);
    if (version !== 0) {
      const family: Family = version === 4 ? 'ipv4' : 'ipv6';
      const max = version === 4 ? 32 : 128;
      const prefixText = slash < 0 ? String(max) : entry.slice(slash + 1);
      const prefix = Number(prefixText);
      if (!/^\d{1,3}$/.test(prefixText) || prefix > max) {
        throw new OutboundAllowListError(entry, `has a bad prefix length (0-${max} for IPv${version})`);
      }
      addresses.addSubnet(addressPart, prefix, family);
      continue;
    }
    const wildcard = entry.startsWith('*.');
    const name = slash < 0 ? hostOf(wildcard ? entry.slice(2) : entry) : undefined;
    if (name === undefined) {
      throw new OutboundAllowListError(entry, 'is not a host name, *.domain, IP address or CIDR network');
    }
    if (wildcard) suffixes.push(name);
    else names.add(name);
  }
  return { entries: entries.map((entry) => entry.trim()).filter(Boolean), names, suffixes, addresses };
}

/** A host name as the URL parser would write it (IDNA to punycode, lower case), without trailing dots. */
function hostOf(text: string): string | undefined {
  if (!/^[^\s/?#@:[\]\\%]+$/.test(text)) return undefined;
  let parsed: string;
  try {
    parsed = new URL(`https://${text}/`).hostname;
  } catch {
    return undefined;
  }
  const host = normaliseHost(parsed);
  if (isIP(host) !== 0) return undefined; // `0x7f.1` and the like: write the address itself
  const labels = host.split('.');
  return labels.every((label) => HOST_LABEL.test(label)) ? host : undefined;
}
