/**
 * The one configuration schema. Defaults live here and nowhere else. `loadConfig` reads YAML (JSON is
 * YAML too), interpolates `${ENV_VAR}`, validates, and throws a ConfigError naming the exact key.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';

const nonEmpty = z.string().trim().min(1, 'must not be empty');

/** Genesys outbound signature secrets must be longer than 15 characters (genesys-open-messaging.md §4). */
const genesysBinding = z.strictObject({
  integrationId: nonEmpty,
  webhookSecret: z.string().min(16, 'must be at least 16 characters (Genesys requires more than 15)'),
});

const instagramConnection = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, dot, dash or underscore'),
  channel: z.literal('instagram'),
  /** The professional account id Meta sends as `entry[].id` (Instagram Login: the `user_id`). */
  accountId: z.string().regex(/^\d{1,32}$/, 'must be the numeric Instagram account id, as a string'),
  /**
   * Secrets that may sign `X-Hub-Signature-256`. Which one Meta uses for Instagram Login is UNCONFIRMED
   * (instagram-messaging.md key fact 5), so both the Instagram app secret and the Meta App Secret may be given.
   */
  appSecret: nonEmpty,
  extraAppSecrets: z.array(nonEmpty).default([]),
  verifyToken: nonEmpty,
  accessToken: nonEmpty,
  graphBaseUrl: z.url().default('https://graph.instagram.com'),
  graphApiVersion: z.string().regex(/^v\d+\.\d+$/, 'must look like v23.0').default('v23.0'),
  /**
   * Send human agents' replies with Meta's HUMAN_AGENT tag between 24 hours and 7 days after the customer's
   * last message. Needs the Human Agent feature approved for the app in Meta's App Review.
   * https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags
   */
  humanAgentTag: z.boolean().default(false),
  /** Show the agent what the brand sent from the Instagram app itself (echoes not sent through dmbridge). */
  forwardAppReplies: z.boolean().default(false),
  genesys: genesysBinding,
});

const tiktokConnection = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, dot, dash or underscore'),
  channel: z.literal('tiktok'),
  /** The business account's open_id: `user_openid` in the webhooks, `business_id` in API calls. */
  businessId: nonEmpty,
  /** The developer app's id (`client_key` in webhooks, `client_id` for tokens, `app_id` for webhook set-up). */
  appId: nonEmpty,
  /** Signs `TikTok-Signature` and authenticates token refreshes. */
  appSecret: nonEmpty,
  accessToken: nonEmpty,
  refreshToken: nonEmpty,
  apiBaseUrl: z.url().default('https://business-api.tiktok.com/open_api/v1.3'),
  /**
   * How old a webhook's signed timestamp may be. TikTok's sample says 5 s, but real deliveries failed that, so
   * 300 s plus dedupe (tiktok-messaging.md key fact 20).
   */
  signatureToleranceSec: z.number().int().min(5).max(3600).default(300),
  /** Show the agent what the brand sent from the TikTok app itself (echoes not sent through dmbridge). */
  forwardAppReplies: z.boolean().default(false),
  genesys: genesysBinding,
});

const connection = z.discriminatedUnion('channel', [instagramConnection, tiktokConnection]);

const genesys = z
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

const storeUrl = z
  .string()
  .refine(
    (s) => s.startsWith('sqlite:') || s.startsWith('postgres://') || s.startsWith('postgresql://'),
    'must be sqlite:<path> (for example sqlite:./data/dmbridge.db) or postgres://user:password@host:5432/database',
  );

/** Used only with a `postgres://` store. */
const postgres = z
  .strictObject({
    /** Connections per instance. */
    poolSize: z.number().int().min(1).max(100).default(10),
    connectionTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
    statementTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    /** Tables live in this schema, created at start; instances sharing a database share it. */
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier').default('dmbridge'),
  })
  .prefault({});

const queue = z
  .strictObject({
    concurrency: z.number().int().min(1).max(256).default(16),
    leaseMs: z.number().int().min(1000).default(30_000),
    /** Attempts before a job is dead-lettered. */
    maxAttempts: z.number().int().min(1).max(100).default(12),
    backoffBaseMs: z.number().int().min(1).default(1000),
    backoffMaxMs: z.number().int().min(1).default(15 * 60_000),
    pollMs: z.number().int().min(10).default(500),
  })
  .prefault({});

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      /** A number, or a string of digits (so `port: ${PORT}` works). */
      port: z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v), z.number().int().min(0).max(65535)).default(8080),
      /** The bridge's public HTTPS base URL; media links handed to Genesys start with it. */
      publicUrl: z.url().optional(),
      /**
       * Key that signs media links. Several instances must share it; by default it is derived from the TikTok
       * connections' app secrets, which they share already.
       */
      mediaSigningKey: z.string().min(32, 'must be at least 32 characters').optional(),
      /** Largest webhook body accepted; Meta batches up to 1000 updates in one POST. */
      bodyLimitBytes: z.number().int().min(1024).max(50 * 1024 * 1024).default(1024 * 1024),
      /** A request (headers and body) must arrive within this time, or the connection is closed with 408. */
      requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    })
    .prefault({}),
  store: storeUrl.default('sqlite:./data/dmbridge.db'),
  postgres,
  /** Dedupe keys are kept at least this long; Meta retries for up to 36 h, so 7 days leaves room. */
  dedupeRetentionDays: z.number().min(7, 'must be at least 7 days').default(7),
  log: z
    .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
    .prefault({}),
  queue,
  genesys,
  connections: z
    .array(connection)
    .min(1, 'needs at least one connection')
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((c, i) => {
        if (seen.has(c.id)) ctx.addIssue({ code: 'custom', message: `duplicate connection id "${c.id}"`, path: [i, 'id'] });
        seen.add(c.id);
      });
    }),
});

export type Config = z.output<typeof configSchema>;

/** Rules across sections, checked after the schema. */
function checkConfig(config: Config): string[] {
  const problems: string[] = [];
  const tiktok = config.connections.some((c) => c.channel === 'tiktok');
  // Genesys fetches TikTok media from the bridge's own /media route (design.md, Media).
  if (tiktok && !config.server.publicUrl) problems.push('server.publicUrl: required with a TikTok connection (Genesys fetches TikTok media from the bridge)');
  return problems;
}
export type ConnectionConfig = Config['connections'][number];
export type InstagramConnection = Extract<ConnectionConfig, { channel: 'instagram' }>;
export type TikTokConnection = Extract<ConnectionConfig, { channel: 'tiktok' }>;
export type GenesysConfig = Config['genesys'];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** `connections[0].appSecret` style, the way an operator reads the file. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out || '(top level)';
}

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * `${NAME}` may stand anywhere, including unquoted inside a YAML flow map (`{ secret: ${SECRET} }`, where a
 * bare `{` would open a nested map). So references are swapped for inert placeholders before the YAML parser
 * runs, and the values are put back into the parsed strings afterwards: a value is never parsed as YAML, so a
 * secret containing `#`, `:` or quotes stays exactly what it is.
 */
function hideEnvReferences(text: string): { text: string; names: string[]; placeholder: RegExp } {
  const nonce = randomBytes(6).toString('hex');
  const names: string[] = [];
  const hidden = text.replace(ENV_REFERENCE, (_m, name: string) => `__dmbridge_env_${nonce}_${names.push(name) - 1}__`);
  return { text: hidden, names, placeholder: new RegExp(`__dmbridge_env_${nonce}_(\\d+)__`, 'g') };
}

/** Puts environment values where the placeholders are; an unset variable is an error naming the key. */
function restoreEnvReferences(
  value: unknown,
  refs: { names: string[]; placeholder: RegExp },
  env: NodeJS.ProcessEnv,
  path: PropertyKey[] = [],
): unknown {
  if (typeof value === 'string') {
    return value.replace(refs.placeholder, (_m, index: string) => {
      const name = refs.names[Number(index)]!;
      const v = env[name];
      if (v === undefined) throw new ConfigError(`${formatPath(path)}: environment variable ${name} is not set`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => restoreEnvReferences(v, refs, env, [...path, i]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, restoreEnvReferences(v, refs, env, [...path, k])]));
  }
  return value;
}

export function parseConfig(text: string, env: NodeJS.ProcessEnv = process.env, source = 'config'): Config {
  const refs = hideEnvReferences(text);
  const doc = parseDocument(refs.text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(`${source}: not valid YAML or JSON: ${doc.errors[0]!.message}`);
  }
  const raw = restoreEnvReferences(doc.toJS(), refs, env);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`);
    throw new ConfigError(`${source}: invalid configuration\n${lines.join('\n')}`);
  }
  const problems = checkConfig(result.data);
  if (problems.length > 0) throw new ConfigError(`${source}: invalid configuration\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return result.data;
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseConfig(text, env, file);
}
