/**
 * The one configuration schema, assembled from its parts: each channel module's connection schema, the Genesys
 * section, the store engines' options. Defaults live in those parts and nowhere else. `loadConfig` reads YAML (JSON
 * is YAML too), interpolates `${ENV_VAR}`, validates, and throws a ConfigError naming the exact key.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { CHANNELS } from './channels/index.js';
import type { ChannelModule } from './core/channel.js';
import type { Connection } from './core/connection.js';
import { genesysConfigSchema } from './genesys/config.js';
import { dynamodbOptionsSchema } from './store/dynamodb/options.js';
import { postgresOptionsSchema } from './store/postgres/options.js';
import { sqsOptionsSchema } from './store/sqs/options.js';

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
    /** Dedupe keys are kept at least this long; platforms retry for up to 72 h, so 7 days leaves room. */
    dedupeRetentionDays: z.number().min(7, 'must be at least 7 days').default(7),
    log: z
      .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .prefault({}),
    queue,
    genesys: genesysConfigSchema,
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

/** Rules across sections, checked after the schema: each channel module's own. */
function checkConfig(config: Config, channels: readonly ChannelModule[]): string[] {
  return channels.flatMap((channel) =>
    channel.configProblems?.(config.connections.filter((c) => c.channel === channel.name), config.server) ?? [],
  );
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
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

export function parseConfig(text: string, env: NodeJS.ProcessEnv = process.env, source = 'config', channels: readonly ChannelModule[] = CHANNELS): Config {
  const refs = hideEnvReferences(text);
  const doc = parseDocument(refs.text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(`${source}: not valid YAML or JSON: ${doc.errors[0]!.message}`);
  }
  const raw = restoreEnvReferences(doc.toJS(), refs, env);
  const schema = channels === CHANNELS ? configSchema : configSchemaFor(channels);
  const result = schema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`);
    throw new ConfigError(`${source}: invalid configuration\n${lines.join('\n')}`);
  }
  const problems = checkConfig(result.data, channels);
  if (problems.length > 0) throw new ConfigError(`${source}: invalid configuration\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return result.data;
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env, channels: readonly ChannelModule[] = CHANNELS): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseConfig(text, env, file, channels);
}
