/**
 * The store, split by the roles the rest of the bridge uses. Each consumer asks only for the roles it needs;
 * each engine (src/store/sqlite, src/store/postgres) implements them all as one `Store`. Every method is async,
 * so engines with network I/O fit.
 *
 * Guarantees every engine keeps (checked by the suite in test/store-contract.ts):
 * - `Inbox.accept` is atomic and durable once its promise resolves: a webhook is acknowledged only then. Its jobs,
 *   their dedupe keys and the customer-message facts are stored together or not at all; a rejection means nothing
 *   of the call was stored (the platform delivers it again).
 * - A dedupe key seen within the retention period is never enqueued twice.
 * - Jobs of one conversation key are leased one at a time, in enqueue order; a leased job whose lease expired
 *   (its worker died) becomes leasable again, still ahead of its conversation's later jobs.
 * - A dead-lettered job no longer holds back its conversation.
 * - A pause never shortens; a conversation's last inbound time never moves backwards.
 */
import type { ConversationState } from './conversation.js';

export type JobState = 'pending' | 'leased' | 'done' | 'dead';

export interface NewJob {
  /** Idempotency key; a job whose key was already seen is dropped (counted as a duplicate). */
  dedupeKey: string;
  /** Jobs sharing this key run one at a time, in enqueue order. */
  conversationKey: string;
  /** Names the handler that runs it, e.g. `genesys.inbound` (src/jobs/kinds.ts). */
  kind: string;
  /** JSON-serialisable; checked against the kind's schema when the job is leased. */
  payload: unknown;
}

export interface Job {
  id: string;
  dedupeKey: string;
  conversationKey: string;
  kind: string;
  payload: unknown;
  /** Attempts made before this lease (0 on the first run). */
  attempts: number;
  /** Epoch ms when the job was enqueued. */
  createdAt: number;
}

export interface DeadJob extends Job {
  lastError: string;
  /** Epoch ms when it was dead-lettered. */
  failedAt: number;
}

export interface EnqueueResult {
  accepted: number;
  duplicates: number;
}

/** The customer wrote at `at` (epoch ms): the start of the reply window, and the thread to answer in. */
export interface CustomerMessageFact {
  conversationKey: string;
  at: number;
  threadId?: string;
}

export interface InboxBatch {
  jobs: NewJob[];
  customerMessages: CustomerMessageFact[];
}

/** Where webhook intakes put what they received. */
export interface Inbox {
  /**
   * Records the dedupe keys, enqueues the new jobs and records every customer-message fact, in one atomic,
   * durable write (see the file comment). Facts are recorded for redeliveries too: recording is idempotent
   * for the window time, and the counts follow what the platform delivered.
   */
  accept(batch: InboxBatch): Promise<EnqueueResult>;
}

/** Where job handlers put follow-up work (a receipt after a reply). */
export interface JobSink {
  /** Records the dedupe keys and enqueues the new jobs in one durable transaction. */
  enqueue(jobs: NewJob[]): Promise<EnqueueResult>;
}

export interface LeaseOptions {
  /** Identifies the worker; only the owner of a lease may settle it. */
  owner: string;
  limit: number;
  leaseMs: number;
}

export interface RetryOptions {
  /** Epoch ms before which the job must not run again. */
  runAt: number;
  error: string;
  /** False when the job did not really run (its account was paused): attempts stay as they were. */
  countAttempt: boolean;
}

/** The pull side of the queue: what the Node worker leases and settles. */
export interface LeasedQueue {
  /**
   * Leases up to `limit` runnable jobs, at most one per conversation, each the head of its conversation.
   * Retaking an expired lease counts the lost run as an attempt (a job that kills its worker must still end).
   */
  lease(opts: LeaseOptions): Promise<Job[]>;
  /**
   * Marks a leased job done. Like `retry` and `deadLetter`, it returns false (and changes nothing) unless
   * `owner` holds the job's lease and that lease has not expired, even if no one has retaken it yet.
   */
  complete(jobId: string, owner: string): Promise<boolean>;
  /** Puts a leased job back to pending, not before `runAt`. */
  retry(jobId: string, owner: string, opts: RetryOptions): Promise<boolean>;
  /**
   * Moves a leased job to the dead-letter state with its last error; it no longer blocks its conversation.
   * The failed run counts: a dead job's `attempts` is the number of runs made.
   */
  deadLetter(jobId: string, owner: string, error: string): Promise<boolean>;
}

export interface QueueStats {
  pending: number;
  leased: number;
  dead: number;
  done: number;
}

/** What an operator looks at and acts on. */
export interface DeadLetters {
  stats(): Promise<QueueStats>;
  /** Oldest failures first. */
  listDead(limit: number): Promise<DeadJob[]>;
  /**
   * Moves a dead job back to pending with attempts reset (operator action after a fix). It runs before the
   * later jobs of its conversation, but never beside one that is already running.
   */
  requeueDead(jobId: string): Promise<boolean>;
  /** `requeueDead` for every dead job, oldest failure first; how many were requeued. */
  requeueAllDead(): Promise<number>;
  getDead(jobId: string): Promise<DeadJob | undefined>;
  /** Deletes a dead job for good. Its dedupe key stays: a redelivery of it is still a duplicate. */
  dropDead(jobId: string): Promise<boolean>;
}

export interface BacklogStats {
  /** Jobs not yet done (waiting or running). */
  pending: number;
  /** Epoch ms when the oldest of them was enqueued; undefined when there is none. */
  oldestPendingAt?: number;
  /** Epoch ms since which the longest-waiting runnable job could have run; undefined when none is due. */
  oldestDueAt?: number;
  dead: number;
  /** Pause keys in force (rate-limited accounts, clients). */
  paused: number;
}

/** What the gauges and the readiness probe read. */
export interface Backlog {
  backlog(): Promise<BacklogStats>;
}

/** What the bridge remembers per conversation: reply windows, counts, thread ids. */
export interface Conversations {
  /**
   * Records that the customer wrote at `at` (epoch ms): counts the message and, when it is the newest, restarts
   * the count of replies, and keeps the newest `threadId` given. Never moves the time backwards (webhooks
   * arrive out of order).
   */
  recordCustomerMessage(conversationKey: string, at: number, threadId?: string): Promise<void>;
  /** Counts one reply sent to the customer since they last wrote. */
  recordReplySent(conversationKey: string): Promise<void>;
  getConversation(conversationKey: string): Promise<ConversationState>;
}

/**
 * Small JSON records that expire: links between Genesys message ids and platform message ids, delivery
 * progress of multi-part replies, cached customer profiles, platform tokens. `put` replaces; an expired record
 * reads as absent.
 */
export interface Records {
  putRecord(namespace: string, key: string, value: unknown, expiresAt: number): Promise<void>;
  getRecord<T>(namespace: string, key: string): Promise<T | undefined>;
}

/**
 * A lock shared by every instance on this store, e.g. "one token refresh at a time". `acquireLock` succeeds when
 * the lock is free, expired (`until` of its holder has passed) or already held by `owner`; holds it until `until`.
 */
export interface Locks {
  acquireLock(name: string, owner: string, until: number): Promise<boolean>;
  releaseLock(name: string, owner: string): Promise<void>;
}

/** Pauses shared by every instance: a rate-limited account, an OAuth client. */
export interface Pauses {
  /** Pauses every job that uses `key` until `until` (epoch ms). Never shortens a pause. */
  pause(key: string, until: number): Promise<void>;
  /** Epoch ms until which `key` is paused, or 0. */
  pausedUntil(key: string): Promise<number>;
}

export interface Maintenance {
  /** What is wrong with the stored data (a corrupt file, a missing table); empty when nothing. Reads only. */
  checkIntegrity(): Promise<string[]>;
  /** Deletes dedupe keys older than `dedupeBefore`, done jobs finished before `doneBefore`, and expired records. */
  purge(opts: { dedupeBefore: number; doneBefore: number }): Promise<{ dedupeKeys: number; jobs: number }>;
  /** Writes what is still waiting, then releases the engine's resources. Idempotent. */
  close(): Promise<void>;
}

/** Every role: what one engine implements. */
export interface Store extends Inbox, JobSink, LeasedQueue, DeadLetters, Backlog, Conversations, Records, Locks, Pauses, Maintenance {}
