/**
 * Where the bridge may fetch media from: what an operator lists in the configuration, plus the hosts a caller
 * allows for one transfer (the Genesys download host of the configured region, a platform's media CDN). Pure.
 *
 * Three kinds of entry:
 * - An exact origin, `https://media.example.com` or `http://127.0.0.1:9300`: that scheme, host and port only. An
 *   operator who names an exact origin vouches for it, so its address is not checked: this is how the sandbox
 *   fakes and the tests on 127.0.0.1, or a media server on a private network, are reached. Only the operator's
 *   list can hold exact origins.
 * - A host, `api-downloads.mypurecloud.ie`: that host over HTTPS on port 443.
 * - A host suffix, `.fbcdn.net`: any host under that domain over HTTPS on port 443.
 * Hosts and suffixes must resolve to public addresses (./address-policy.ts), checked at every hop.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

export interface AllowedOrigins {
  /** Exact origins, as `URL.origin` spells them. */
  origins: ReadonlySet<string>;
  hosts: ReadonlySet<string>;
  /** Each starts with a dot. */
  suffixes: readonly string[];
}

export type OriginVerdict = 'listed-origin' | 'listed-host' | 'not-allowed';

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** Why `entry` is not a valid entry, or undefined. */
export function allowedOriginProblem(entry: string): string | undefined {
  if (entry.startsWith('http://') || entry.startsWith('https://')) {
    if (!URL.canParse(entry)) return `"${entry}" is not an origin`;
    const url = new URL(entry);
    if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
      return `"${entry}" must be an origin alone (scheme, host and port), without path, query or credentials`;
    }
    return undefined;
  }
  const host = entry.startsWith('.') ? entry.slice(1) : entry;
  if (!HOSTNAME.test(host) || isIP(host) !== 0) return `"${entry}" is neither an origin (https://host[:port]), a host name nor a .suffix`;
  return undefined;
}

/** For the configuration schema: one entry of the operator's list. */
export const allowedOriginEntrySchema = z.string().superRefine((entry, ctx) => {
  const problem = allowedOriginProblem(entry);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/** The entries as a list; throws naming the first invalid one. */
export function parseAllowedOrigins(entries: readonly string[]): AllowedOrigins {
  const origins = new Set<string>();
  const hosts = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of entries) {
    const problem = allowedOriginProblem(entry);
    if (problem !== undefined) throw new Error(`allowed media origins: ${problem}`);
    if (entry.startsWith('http')) origins.add(new URL(entry).origin);
    else if (entry.startsWith('.')) suffixes.push(entry.toLowerCase());
    else hosts.add(entry.toLowerCase());
  }
  return { origins, hosts, suffixes };
}

/**
 * Whether `url` may be fetched: `listed-origin` (an operator's exact origin: no address check), `listed-host`
 * (a host or suffix of either list: its address is checked) or `not-allowed`. Exact origins count only from the
 * operator's list.
 */
export function originVerdict(url: URL, operator: AllowedOrigins, forThisUse: AllowedOrigins): OriginVerdict {
  if (url.username || url.password) return 'not-allowed';
  if (operator.origins.has(url.origin)) return 'listed-origin';
  if (url.protocol !== 'https:' || url.port !== '' || isIP(bare(url.hostname)) !== 0) return 'not-allowed';
  const host = url.hostname;
  const listed = (list: AllowedOrigins) => list.hosts.has(host) || list.suffixes.some((suffix) => host.endsWith(suffix));
  return listed(operator) || listed(forThisUse) ? 'listed-host' : 'not-allowed';
}

/** A URL's hostname without the brackets of an IPv6 literal. */
export function bare(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}
