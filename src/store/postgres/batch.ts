/**
 * One group commit of the PostgreSQL engine: every queued write turned into set-based statements (a multi-row
 * `INSERT … ON CONFLICT DO NOTHING RETURNING` for the dedupe keys and jobs of every accept in the batch, one
 * `UPDATE … FROM unnest(…)` for every settle), sent as one pipeline in the lock order of ./store.ts: lanes, then
 * the accepts (dedupe keys, jobs), the settles and promotions, the leases (which see this batch's promotions),
 * conversation counters and records. No statement needs an earlier one's answer.
 */
import type pg from 'pg';
import type { Job } from '../../core/store.js';
import { byJobId, jobFromRow, type JobInsert, type JobRow } from '../rows.js';
import type { Send } from './pool.js';
import { MAX_BATCH_CALLS, MAX_BATCH_JOBS, type Sql } from './sql.js';

export type SettleAction = 'complete' | 'retry' | 'dead';

interface ConversationWrite {
  key: string;
  op: 'message' | 'reply';
  at: number | null;
  threadId: string | null;
}

/** One caller's write, waiting for the next group commit. An accept's jobs and facts never split across batches. */
export type Write =
  | { kind: 'accept'; jobs: JobInsert[]; facts: ConversationWrite[] }
  | { kind: 'lease'; owner: string; limit: number; leaseMs: number }
  | { kind: 'settle'; id: string; owner: string; action: SettleAction; error: string | null; runAt: number; counted: number }
  | ({ kind: 'conversation' } & ConversationWrite)
  | { kind: 'record'; namespace: string; key: string; value: string; expiresAt: number };

/** A batch takes queued calls until it carries MAX_BATCH_JOBS jobs or MAX_BATCH_CALLS calls. */
export function batchSize(count: number, writeAt: (i: number) => Write): number {
  let jobs = 0;
  let n = 0;
  while (n < count && n < MAX_BATCH_CALLS && jobs < MAX_BATCH_JOBS) {
    const write = writeAt(n);
    if (write.kind === 'accept') jobs += write.jobs.length;
    n++;
  }
  return n;
}

type Named = (name: keyof Sql, values: unknown[]) => pg.QueryConfig;

/** Sends every statement of the batch; the returned function gives each write's result once all answers are in. */
export function sendBatch(send: Send, named: Named, writes: Write[], now: number): () => unknown[] {
  const results: unknown[] = new Array(writes.length);
  const indexed = writes.map((write, i) => ({ write, i }));
  const of = <K extends Write['kind']>(kind: K) =>
    indexed.filter((e): e is { write: Extract<Write, { kind: K }>; i: number } => e.write.kind === kind);
  const accepts = of('accept');
  const settles = of('settle');

  // Accepts: a key repeated within the batch is a duplicate for every caller after the first.
  const seen = new Set<string>();
  const input: JobInsert[] = [];
  const mine: string[][] = accepts.map(({ write }) =>
    write.jobs.flatMap((job) => {
      if (seen.has(job.dedupeKey)) return [];
      seen.add(job.dedupeKey);
      input.push(job);
      return [job.dedupeKey];
    }),
  );

  const endingIds = settles.filter((e) => e.write.action !== 'retry').map((e) => e.write.id);
  if (input.length > 0 || endingIds.length > 0) {
    send(named('lockLanes', [[...new Set(input.map((j) => j.conversationKey))], endingIds]));
  }

  if (input.length > 0) {
    const columns = [input.map((j) => j.dedupeKey), input.map((j) => j.conversationKey), input.map((j) => j.kind), input.map((j) => j.payload)];
    send(named('enqueue', [...columns, now]), ({ rows }) => {
      const accepted = new Set(rows.map((r) => r.dedupe_key as string));
      accepts.forEach(({ write, i }, n) => {
        const count = mine[n]!.filter((key) => accepted.has(key)).length;
        results[i] = { accepted: count, duplicates: write.jobs.length - count };
      });
    });
  } else {
    for (const { write, i } of accepts) results[i] = { accepted: 0, duplicates: write.jobs.length };
  }

  // Settles: the n-th settle of one job id goes in the n-th statement, so they apply in call order.
  for (const round of rounds(settles, (e) => e.write.id)) {
    const column = <T>(pick: (w: Extract<Write, { kind: 'settle' }>) => T) => round.map((e) => pick(e.write));
    const values = [column((w) => w.id), column((w) => w.owner), column((w) => w.action), column((w) => w.error), column((w) => w.runAt), column((w) => w.counted), now];
    send(named('settle', values), ({ rows }) => {
      const settled = new Set(rows.map((r) => r.id as string));
      for (const e of round) results[e.i] = settled.has(e.write.id);
    });
  }
  if (endingIds.length > 0) send(named('promote', [[...new Set(endingIds)]]));

  for (const { write, i } of of('lease')) {
    send(named('lease', [now, write.limit, write.owner, now + write.leaseMs]), ({ rows }) => {
      results[i] = (rows as JobRow[]).map(jobFromRow).sort(byJobId) satisfies Job[];
    });
  }

  // Conversation counters, in call order: an accept's facts stand where the accept stands.
  const counters = indexed.flatMap(({ write }) => (write.kind === 'conversation' ? [write] : write.kind === 'accept' ? write.facts : []));
  for (const round of rounds(counters, (w) => w.key)) {
    round.sort((a, b) => compare(a.key, b.key));
    send(named('conversations', [round.map((w) => w.key), round.map((w) => w.op), round.map((w) => w.at), round.map((w) => w.threadId)]));
  }

  for (const round of rounds(of('record'), (e) => `${e.write.namespace}\u0000${e.write.key}`)) {
    round.sort((a, b) => compare(a.write.namespace, b.write.namespace) || compare(a.write.key, b.write.key));
    const column = <T>(pick: (w: Extract<Write, { kind: 'record' }>) => T) => round.map((e) => pick(e.write));
    send(named('putRecords', [column((w) => w.namespace), column((w) => w.key), column((w) => w.value), column((w) => w.expiresAt)]));
  }
  return () => results;
}

/** The n-th item of each key goes in the n-th round, so no statement touches one row twice. */
function rounds<T>(items: T[], key: (item: T) => string): T[][] {
  const seen = new Map<string, number>();
  const out: T[][] = [];
  for (const item of items) {
    const k = key(item);
    const round = seen.get(k) ?? 0;
    seen.set(k, round + 1);
    (out[round] ??= []).push(item);
  }
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
