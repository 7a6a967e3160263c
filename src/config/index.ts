/**
 * The one configuration schema, assembled from its parts: each channel module's connection schema, the Genesys
 * section, the store engines' options. Defaults live in those parts and nowhere else. `loadConfig` reads YAML (JSON
 * is YAML too), interpolates `${ENV_VAR}`, validates, and throws a ConfigError naming the exact key.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { CHANNELS } from '../channels/index.js';
import type { ChannelModule } from '../core/channel.js';
import type { Connection } from '../core/connection.js';
import type { WebhookBase } from '../core/doctor.js';
import { genesysConfigSchema } from '../genesys/config.js';
import { allowedOriginEntrySchema } from '../net/allowed-origins.js';
import { dynamodbOptionsSchema } from '../store/dynamodb/options.js';
import { postgresOptionsSchema } from '../store/postgres/options.js';
import { sqsOptionsSchema } from '../store/sqs/options.js';
import { configProblems } from './checks.js';
import { formatPath } from './paths.js';
import { hideReferences, referenceProblems, restoreReferences } from './references.js';
import { knownKeysAt, nearestKey } from './suggest.js';

const storeUrl = z
  .string()
  .refine(
    (s) => s === 'aws' || s.startsWith('sqlite:') || s.startsWith('postgres://') || s.startsWith('postgresql://'),
    'must be sqlite:<path> (for example sqlite:./data/dmbridge.db), postgres://user:password@host:5432/database, ' +
      'or aws (the AWS Lambda profile, with the dynamodb: and sqs: sections)',
  );

/** `store: aws` and the `dynamodb:` and `sqs:` sections go together: each without the others is a mistake. */
function checkAwsStoreSections(config: { store: string; dynamodb?: unknown; sqs?: unknown }, ctx: z.RefinementCtx): void {
  const aws = config.store === 'aws';
  for (const key of ['dynamodb', 'sqs'] as const) {
    if (aws && config[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'required with store: aws' });
    if (!aws && config[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'only used with store: aws' });
  }
}

const queue = z
  .strictObject({
    concurrency: z.number().int().min(1).max(256).default(16),
    leaseMs: z.number().int().min(1000).default(30_000),
    /** Attempts before a job is dead-lettered. */
    maxAttempts: z.number().int().min(1).max(100).default(12),
    backoffBaseMs: z.number().int().min(1).default(1000),
    backoffMaxMs: z.number().int().min(1).default(15 * 60_000),
    pollMs: z.number().int().min(10).default(500),
    /** An agent reply not delivered this long after the bridge accepted it is given up with a Failed receipt. */
    replyDeadlineMs: z.number().int().min(1000).max(24 * 60 * 60_000).default(5 * 60_000),
  })
  .prefault({});

const server = z
  .strictObject({
    host: z.string().default('127.0.0.1'),
    /** A number, or a string of digits (so `port: ${PORT}` works). */
    port: z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v), z.number().int().min(0).max(65535)).default(8080),
    /** The bridge's public HTTPS base URL; media links handed to Genesys start with it. */
    publicUrl: z.url().optional(),
    /**
     * Where the platforms and Genesys reach the webhook routes, when that is not `publicUrl` (on AWS: the API's
     * URL, while `publicUrl` is the media function's). Read only by `genesys setup` and `doctor`.
     */
    webhookBaseUrl: z.url().optional(),
    /**
     * Key that signs media links. Several instances must share it; by default it is derived from secrets the
     * connections share already (their channel modules say which).
     */
    mediaSigningKey: z.string().min(32, 'must be at least 32 characters').optional(),
    /** Largest webhook body accepted; a platform may batch up to 1000 updates in one POST. */
    bodyLimitBytes: z.number().int().min(1024).max(50 * 1024 * 1024).default(1024 * 1024),
    /** A request (headers and body) must arrive within this time, or the connection is closed with 408. */
    requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  })
  .prefault({});

/**
 * Where media may be fetched from besides each transfer's own hosts (the Genesys downloads host, a platform's CDN):
 * exact origins (`https://media.example.com`, `http://127.0.0.1:9300`: fetched whatever address they have), hosts
 * and `.suffix`es over HTTPS (public addresses only). Genesys's redirect target for attachments is UNCONFIRMED, so
 * it is fetched only when listed here (docs/configuration.md).
 */
const media = z.strictObject({ allowedOrigins: z.array(allowedOriginEntrySchema).default([]) }).prefault({});

/** One discriminated union over the registered channels' connection schemas (each a strict object). */
function connectionSchema(channels: readonly ChannelModule[]) {
  const options = channels.map((c) => c.configSchema) as unknown as [z.ZodObject<{ channel: z.ZodLiteral<string> }>];
  return z.discriminatedUnion('channel', options) as unknown as z.ZodType<Connection & Record<string, unknown>>;
}

export function configSchemaFor(channels: readonly ChannelModule[]) {
  return z.strictObject({
    server,
    store: storeUrl.default('sqlite:./data/dmbridge.db'),
    postgres: postgresOptionsSchema,
    /** The AWS profile's state table and job queues (store: aws). */
    dynamodb: dynamodbOptionsSchema.optional(),
    sqs: sqsOptionsSchema.optional(),
    /** Dedupe keys are kept at least this long; platforms retry for up to 72 h, so 7 days leaves room (./checks.ts checks every connection). */
    dedupeRetentionDays: z.number().min(7, 'must be at least 7 days').default(7),
    log: z
      .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .prefault({}),
    queue,
    /** The admin API and a token for /metrics (docs/configuration.md); off without a token. */
    admin: z.strictObject({ token: z.string().min(32, 'must be at least 32 characters (use a random string)').optional() }).prefault({}),
    genesys: genesysConfigSchema,
    media,
    connections: z
      .array(connectionSchema(channels))
      .min(1, 'needs at least one connection')
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((c, i) => {
          if (seen.has(c.id)) ctx.addIssue({ code: 'custom', message: `duplicate connection id "${c.id}"`, path: [i, 'id'] });
          seen.add(c.id);
        });
      }),
  }).superRefine(checkAwsStoreSections);
}

/** The schema over the registered channels. */
export const configSchema = configSchemaFor(CHANNELS);

export type Config = z.output<typeof configSchema>;
export type ConnectionConfig = Config['connections'][number];
export type QueueConfig = Config['queue'];

/** Where the webhook routes are reached: `server.webhookBaseUrl`, else `server.publicUrl`; undefined when neither is set. */
export function webhookBaseOf(server: Config['server']): WebhookBase | undefined {
  if (server.webhookBaseUrl) return { url: server.webhookBaseUrl, key: 'server.webhookBaseUrl' };
  return server.publicUrl ? { url: server.publicUrl, key: 'server.publicUrl' } : undefined;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * `prepare` may complete the raw document before it is validated: `dmbridge genesys setup` runs on a connection
 * whose Genesys integration does not exist yet.
 */
export function parseConfig(
  text: string,
  env: NodeJS.ProcessEnv = process.env,
  source = 'config',
  channels: readonly ChannelModule[] = CHANNELS,
  prepare?: (raw: unknown) => void,
): Config {
  const refs = hideReferences(text);
  const lines = new LineCounter();
  const doc = parseDocument(refs.text, { prettyErrors: false, lineCounter: lines });
  if (doc.errors.length > 0) {
    // The parser's own message quotes the line, which may hold a secret: only the position and the rule.
    const error = doc.errors[0]!;
    const at = lines.linePos(error.pos[0]);
    throw new ConfigError(`${source}: not valid YAML or JSON at line ${at.line}, column ${at.col}: ${error.message}`);
  }
  const missing: string[] = [];
  const raw = restoreReferences(doc.toJS(), refs, env, missing);
  const textProblems = [...referenceProblems(text), ...missing];
  if (textProblems.length > 0) throw invalid(source, textProblems);
  prepare?.(raw);
  const schema = channels === CHANNELS ? configSchema : configSchemaFor(channels);
  const result = schema.safeParse(raw);
  if (!result.success) throw invalid(source, result.error.issues.map((issue) => describeIssue(issue, schema, raw)));
  const problems = configProblems(result.data, channels);
  if (problems.length > 0) throw invalid(source, problems);
  return result.data;
}

function invalid(source: string, problems: string[]): ConfigError {
  return new ConfigError(`${source}: invalid configuration\n${problems.map((p) => `  ${p}`).join('\n')}`);
}

/** Settings an earlier version read, with what replaced them: an upgraded configuration says so, not "unknown key". */
const RETIRED_KEYS: Readonly<Record<string, string>> = {
  mediaHosts: 'no longer a setting: list the hosts in media.allowedOrigins instead (docs/configuration.md)',
};

/**
 * One schema issue as the operator reads it; an unknown key says which known one it probably meant, or what
 * replaced it.
 */
function describeIssue(issue: z.core.$ZodIssue, schema: z.ZodType, raw: unknown): string {
  if (issue.code !== 'unrecognized_keys') return `${formatPath(issue.path)}: ${issue.message}`;
  const known = knownKeysAt(schema, issue.path, raw);
  return issue.keys
    .map((key) => {
      const retired = RETIRED_KEYS[key];
      if (retired) return `${formatPath([...issue.path, key])}: ${retired}`;
      const near = nearestKey(key, known);
      return `${formatPath([...issue.path, key])}: unknown key${near ? ` (did you mean "${near}"?)` : ''}`;
    })
    .join('\n  ');
}

export function loadConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  channels: readonly ChannelModule[] = CHANNELS,
  prepare?: (raw: unknown) => void,
): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseConfig(text, env, file, channels, prepare);
}
