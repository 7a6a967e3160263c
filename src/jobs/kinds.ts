/**
 * A job kind with a typed, versioned payload. The stored payload is the kind's fields plus `v`, the version that
 * wrote it; payloads written before versions existed read as version 1. A payload of a newer version, or one
 * that fails the schema, is refused with a sentence saying why (the consumer dead-letters it: src/queue/run-job.ts).
 */
import type { z } from 'zod';
import type { JobKind, PayloadCheck } from '../core/jobs.js';
import type { NewJob } from '../core/store.js';

export interface DefinedJobKind<P> extends JobKind<P> {
  /** The job to enqueue for this payload. */
  job(payload: P, keys: { dedupeKey: string; conversationKey: string }): NewJob;
}

/** The payload type of a defined kind. */
export type PayloadOf<K> = K extends JobKind<infer P> ? P : never;

export function defineJobKind<S extends z.ZodType<object>>(kind: string, version: number, schema: S): DefinedJobKind<z.output<S>> {
  return {
    kind,
    version,
    check(stored: unknown): PayloadCheck<z.output<S>> {
      if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return { ok: false, error: 'the payload is not an object' };
      const { v = 1, ...fields } = stored as { v?: unknown };
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) return { ok: false, error: `payload version ${JSON.stringify(v)} is not a version` };
      if (v > version) return { ok: false, error: `payload version ${v} is newer than this dmbridge's ${version}` };
      const parsed = schema.safeParse(fields);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return { ok: false, error: `version ${v} payload ${issue?.path.join('.') || '(top level)'}: ${issue?.message ?? 'invalid'}` };
      }
      return { ok: true, payload: parsed.data };
    },
    job: (payload, keys) => ({ ...keys, kind, payload: { v: version, ...payload } }),
  };
}
