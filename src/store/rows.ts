/**
 * Row mapping shared by the SQL engines: the `jobs` and `conversations` columns are the same in both schemas;
 * only the driver's types differ (SQLite hands integers as numbers, PostgreSQL bigints as strings).
 */
import type { ConversationState } from '../core/conversation.js';
import type { BacklogStats, DeadJob, Job, NewJob } from '../core/store.js';

export interface JobRow {
  id: number | string;
  dedupe_key: string;
  conversation_key: string;
  kind: string;
  payload: string;
  attempts: number;
  created_at: number | string;
}

export interface DeadJobRow extends JobRow {
  last_error: string | null;
  finished_at: number | string;
}

export interface ConversationRow {
  last_inbound_at: number | string | null;
  customer_messages: number;
  replies_since_customer: number;
  thread_id: string | null;
}

/** A job checked and serialised before it joins a group commit, so one bad payload fails only its caller. */
export interface JobInsert {
  dedupeKey: string;
  conversationKey: string;
  kind: string;
  payload: string;
}

export function toJobInsert(job: NewJob): JobInsert {
  return {
    dedupeKey: job.dedupeKey,
    conversationKey: job.conversationKey,
    kind: job.kind,
    payload: JSON.stringify(job.payload ?? null),
  };
}

export function jobFromRow(row: JobRow): Job {
  return {
    id: String(row.id),
    dedupeKey: row.dedupe_key,
    conversationKey: row.conversation_key,
    kind: row.kind,
    payload: JSON.parse(row.payload) as unknown,
    attempts: row.attempts,
    createdAt: Number(row.created_at),
  };
}

export function deadJobFromRow(row: DeadJobRow): DeadJob {
  return { ...jobFromRow(row), lastError: row.last_error ?? '', failedAt: Number(row.finished_at) };
}

/** Leased jobs in enqueue order. */
export function byJobId(a: Job, b: Job): number {
  return Number(a.id) - Number(b.id);
}

export function conversationFromRow(row: ConversationRow | undefined): ConversationState {
  if (!row) return {};
  return {
    ...(row.last_inbound_at != null ? { lastInboundAt: Number(row.last_inbound_at) } : {}),
    customerMessages: row.customer_messages,
    repliesSinceCustomer: row.replies_since_customer,
    ...(row.thread_id != null ? { threadId: row.thread_id } : {}),
  };
}

/** Job ids are decimal integers (SQLite's rowid, PostgreSQL's identity); anything else names no job. */
export function parseJobId(jobId: string): string | undefined {
  return /^[1-9]\d{0,15}$/.test(jobId) ? jobId : undefined;
}

export interface BacklogRow {
  pending: number | string;
  oldest_pending: number | string | null;
  oldest_due: number | string | null;
  dead: number | string;
  paused: number | string;
}

export function backlogFromRow(row: BacklogRow): BacklogStats {
  return {
    pending: Number(row.pending),
    ...(row.oldest_pending != null ? { oldestPendingAt: Number(row.oldest_pending) } : {}),
    ...(row.oldest_due != null ? { oldestDueAt: Number(row.oldest_due) } : {}),
    dead: Number(row.dead),
    paused: Number(row.paused),
  };
}
