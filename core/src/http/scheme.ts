/**
 * Gunicorn's secure_scheme_headers + forwarded_allow_ips: which requests count as https.
 */

const IPV4_MAPPED_PREFIX = '::ffff:';

/** Canonical text of an address: lower case, IPv4-mapped IPv6 reduced to the IPv4 address. */
export function normalizeIp(address: string): string {
  const lower = address.trim().toLowerCase();
  if (lower.startsWith(IPV4_MAPPED_PREFIX) && lower.includes('.')) return lower.slice(IPV4_MAPPED_PREFIX.length);
  return lower;
}

export class SchemeResolver {
  private readonly allowAll: boolean;
  private readonly allowed: ReadonlySet<string>;
  /** lower-case header name → exact value that means https */
  private readonly secureHeaders: ReadonlyMap<string, string>;
  private readonly secureHeaderLengths: ReadonlySet<number>;

  constructor(secureSchemeHeaders: Record<string, string>, forwardedAllowIps: readonly string[] | '*') {
    const list = forwardedAllowIps === '*' ? ['*'] : forwardedAllowIps;
    this.allowAll = list.some((ip) => ip.trim() === '*');
    this.allowed = new Set(list.map(normalizeIp));
    const headers = new Map<string, string>();
    for (const [name, value] of Object.entries(secureSchemeHeaders)) headers.set(name.toLowerCase(), value);
    this.secureHeaders = headers;
    this.secureHeaderLengths = new Set([...headers.keys()].map((k) => k.length));
  }

  /**
   * May this peer set the scheme through headers? A peer without an IP address (a UNIX socket)
   * is trusted, as Gunicorn 19 does: such a socket is only reachable by a local proxy.
   */
  isTrustedPeer(remoteAddress: string | undefined): boolean {
    if (this.secureHeaders.size === 0) return false;
    if (this.allowAll || remoteAddress === undefined || remoteAddress === '') return true;
    return this.allowed.has(normalizeIp(remoteAddress));
  }

  /** 'https' when one of the secure headers carries its exact (case-sensitive) value. */
  schemeFromHeaders(rawHeaders: readonly string[]): 'http' | 'https' {
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      if (!this.secureHeaderLengths.has(name.length)) continue;
      const expected = this.secureHeaders.get(name.toLowerCase());
      if (expected !== undefined && rawHeaders[i + 1] === expected) return 'https';
    }
    return 'http';
  }
}
