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
