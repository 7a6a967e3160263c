/** The `genesys:` section of the configuration: the org's region and the OAuth client the bridge uses. */
import { z } from 'zod';
import { nonEmpty } from '../core/connection.js';

export const genesysConfigSchema = z
  .strictObject({
    /** Region domain, e.g. mypurecloud.com, mypurecloud.ie, usw2.pure.cloud. */
    region: z.string().regex(/^[a-z0-9.-]+\.[a-z]+$/, 'must be a region domain such as mypurecloud.com').default('mypurecloud.com'),
    loginBaseUrl: z.url().optional(),
    apiBaseUrl: z.url().optional(),
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
  .transform((g) => ({
    ...g,
    loginBaseUrl: stripSlash(g.loginBaseUrl ?? `https://login.${g.region}`),
    apiBaseUrl: stripSlash(g.apiBaseUrl ?? `https://api.${g.region}`),
  }));

export type GenesysConfig = z.output<typeof genesysConfigSchema>;

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
