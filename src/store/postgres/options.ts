/**
 * The `postgres:` section of the configuration, used only with a `postgres://` store: its one source of defaults,
 * read by the config schema and by `openPostgresStore` alike.
 */
import { z } from 'zod';

export const postgresOptionsSchema = z
  .strictObject({
    /** Connections per instance. One flush and the reads share them. */
    poolSize: z.number().int().min(1).max(100).default(10),
    /** How long to wait for a new connection before the call fails. */
    connectionTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
    /** Server-side limit per statement, lock waits included; a timed-out call rejects. */
    statementTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    /** Tables live in this schema, created at start; instances sharing a database share it. */
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier').default('dmbridge'),
  })
  .prefault({});

export type PostgresOptions = z.output<typeof postgresOptionsSchema>;
