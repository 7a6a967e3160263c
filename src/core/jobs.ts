/**
 * The job port: a kind of job (its payload's shape and version) and the handler that runs it. Consumers of the
 * queue (the Node pull loop, a queue-triggered function) check a leased job's payload against its kind before
 * the handler sees it, so a payload written by another version of the bridge is dead-lettered with a clear
 * error instead of crashing the handler.
 */
import type { Job } from './store.js';

export type PayloadCheck<P> = { ok: true; payload: P } | { ok: false; error: string };

export interface JobKind<P> {
  /** Stable name stored with every job, e.g. `genesys.inbound`. */
  readonly kind: string;
  /** The payload version this bridge writes; older versions it can still read are upgraded by `check`. */
  readonly version: number;
  /** A stored payload, checked and upgraded to the current version. */
  check(payload: unknown): PayloadCheck<P>;
}

export interface JobHandler<P> {
  run(payload: P, job: Job): Promise<void>;
  /** Keys (accounts, OAuth clients) whose pause must hold this job back. */
  pauseKeys?(payload: P, job: Job): string[];
  /**
   * Called before the job is dead-lettered (at-least-once: a crash in between runs it again), so the far side
   * can learn the outcome. Errors are logged, never thrown.
   */
  onDeadLetter?(payload: P, error: Error, job: Job): Promise<void>;
}

/** One kind with its handler, as the consumers of the queue take them. */
export interface JobRoute<P = unknown> {
  kind: JobKind<P>;
  handler: JobHandler<P>;
}

/** Pairs a kind with its handler, keeping the payload type between them. */
export function jobRoute<P>(kind: JobKind<P>, handler: JobHandler<P>): JobRoute {
  return { kind, handler } as unknown as JobRoute;
}
