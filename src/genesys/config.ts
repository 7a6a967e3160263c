/** The `genesys:` section of the configuration: the org's region and the OAuth client the bridge uses. */
import { z } from 'zod';
import { nonEmpty } from '../core/connection.js';

/**
 * The Genesys Cloud regions, by the domain their API and login hosts share (purecloud-platform-client-v2, SDK 262;
 * docs/protocols/genesys-open-messaging.md, Region domains). A region not listed here is a typo, or one newer than
 * this list: `apiBaseUrl` and `loginBaseUrl` then name its hosts directly.
 */
export const GENESYS_REGIONS: readonly string[] = [
  'mypurecloud.com', 'mypurecloud.ie', 'mypurecloud.com.au', 'mypurecloud.jp', 'mypurecloud.de', 'usw2.pure.cloud',
  'cac1.pure.cloud', 'apne2.pure.cloud', 'euw2.pure.cloud', 'aps1.pure.cloud', 'use2.us-gov-pure.cloud', 'sae1.pure.cloud',
  'mec1.pure.cloud', 'apne3.pure.cloud', 'euc2.pure.cloud', 'mxc1.pure.cloud', 'apse1.pure.cloud', 'edee1.eusc-pure.cloud',
];

export const genesysConfigSchema = z
  .strictObject({
    /** Region domain, e.g. mypurecloud.com, mypurecloud.ie, usw2.pure.cloud. */
    region: z
      .string()
      .regex(/^[a-z0-9.-]+\.[a-z]+$/, 'must be a region domain such as mypurecloud.com')
      .default('mypurecloud.com'),
    loginBaseUrl: z.url().optional(),
    apiBaseUrl: z.url().optional(),
    /**
     * Where agents' attachments are downloaded from, with the bridge's token: `https://api-downloads.<region>`
     * (genesys-open-messaging.md key fact 23). Another origin (a sandbox, a test) must also be listed in
     * `media.allowedOrigins`.
     */
    downloadsBaseUrl: z.url().optional(),
    clientId: nonEmpty,
    clientSecret: nonEmpty,
    /** Per-request timeout to Genesys. */
    timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
    /**
     * When Genesys refuses an inbound message (400), it is sent once more with its text cut to this many characters
     * and a note. Genesys publishes no inbound limit (UNCONFIRMED, genesys-open-messaging.md §2.1); 4000 is its agent
     * text limit (key fact 25).
     */
    inboundTextMaxChars: z.number().int().min(100).max(100_000).default(4000),
    /**
     * … and its custom attributes trimmed to this many bytes of JSON, the bridge's own first. No published limit
     * (UNCONFIRMED, §2.1); another middleware caps them at 1900 bytes.
     */
    customAttributesMaxBytes: z.number().int().min(256).max(100_000).default(1900),
  })
  .superRefine((g, ctx) => {
    // With both hosts given explicitly (a new region, a test), the region names nothing the bridge calls.
    if (!GENESYS_REGIONS.includes(g.region) && !(g.apiBaseUrl && g.loginBaseUrl)) {
      ctx.addIssue({ code: 'custom', path: ['region'], message: `is not a Genesys Cloud region: use one of ${GENESYS_REGIONS.join(', ')} (or set apiBaseUrl and loginBaseUrl)` });
    }
  })
  .transform((g) => ({
    ...g,
    loginBaseUrl: stripSlash(g.loginBaseUrl ?? `https://login.${g.region}`),
    apiBaseUrl: stripSlash(g.apiBaseUrl ?? `https://api.${g.region}`),
    downloadsBaseUrl: stripSlash(g.downloadsBaseUrl ?? `https://api-downloads.${g.region}`),
  }));

export type GenesysConfig = z.output<typeof genesysConfigSchema>;

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
