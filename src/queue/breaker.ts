/**
 * A circuit breaker per target (the Genesys OAuth client, one platform account), shared by every instance on the
 * store. Without it every waiting job backs off on its own, so an outage draws calls in proportion to the backlog
 * and, after recovery, conversations sit out long backoffs.
 *
 * - Closed: every job runs. Each instance counts the target's consecutive transient failures; the one that sees
 *   `failureThreshold` in a row opens the breaker for all.
 * - Open: the target is paused (the store's Pauses, which every worker already honours without counting an
 *   attempt) until the next probe time, and the open state with its interval is a record every instance reads.
 * - Probe: once the pause has run out, one job at a time (a store lock, held at most `probeLeaseMs` in case its
 *   worker dies) is let through; the others look again `recheckMs` later. A failed probe pauses the target for an
 *   interval twice as long, up to `maxProbeIntervalMs`.
 * - The first success closes the breaker, and since the pause has already run out by then (a probe runs only after
 *   it), everything waiting resumes at once: no pause needs shortening.
 *
 * How a worker uses it, around each job that calls a target: `admit` before running (a `wait` means retry the job
 * at `until` without counting an attempt, as for a pause); then `succeeded` when the target answered (a permanent
 * refusal is an answer too) or `failed` when it did not (timeout, network failure, 5xx).
 */
import type { Clock } from '../core/clock.js';
import type { Locks, Pauses, Records } from '../core/store.js';
import type { Logger } from '../logger.js';

export interface BreakerSettings {
  /** Consecutive transient failures, on one instance, that open the breaker. */
  failureThreshold: number;
  /** The pause before the first probe; it doubles after each failed probe. */
  firstProbeIntervalMs: number;
  maxProbeIntervalMs: number;
  /** How long a probe may run before another job may probe (its worker may have died). */
  probeLeaseMs: number;
  /** How soon a job held back while a probe runs looks again: the delay before the backlog flows after recovery. */
  recheckMs: number;
}

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = {
  failureThreshold: 5,
  firstProbeIntervalMs: 2_000,
  maxProbeIntervalMs: 10_000,
  probeLeaseMs: 30_000,
  recheckMs: 1_000,
};

export interface BreakerDeps {
  store: Pauses & Records & Locks;
  clock: Clock;
  /** This instance, as lock owners name it. */
  instanceId: string;
  logger: Logger;
  settings?: Partial<BreakerSettings>;
}

/** What `admit` decided; pass it back to `succeeded` or `failed`. */
export type Admission =
  | { run: true; target: string; probe?: { owner: string } }
  /** Retry the job at `until` without counting an attempt. */
  | { run: false; target: string; until: number };

/** The record of an open breaker; no record means closed. */
interface OpenState {
  intervalMs: number;
  /** Epoch ms from which one job may probe. */
  probeAt: number;
}

const NAMESPACE = 'breaker';
/** An open state nobody probes (no more jobs for the target) is forgotten a day after its probe time. */
const FORGET_AFTER_MS = 24 * 60 * 60 * 1000;

export class Breakers {
  private readonly settings: BreakerSettings;
  /** This instance's consecutive transient failures per target. */
  private readonly failures = new Map<string, number>();
  /**
   * Targets seen closed, until when that is trusted without reading the store again: a job per target would
   * otherwise cost a store read. Shorter than the first probe interval, so an instance that missed another's opening
   * is held by the pause (read for every job) until this runs out, then reads the open state.
   */
  private readonly closedUntil = new Map<string, number>();
  private probes = 0;

  constructor(private readonly deps: BreakerDeps) {
    this.settings = { ...DEFAULT_BREAKER_SETTINGS, ...deps.settings };
  }

  /** Whether a job may call `target` now. */
  async admit(target: string): Promise<Admission> {
    const { store, clock, instanceId } = this.deps;
    if (clock() < (this.closedUntil.get(target) ?? 0)) return { run: true, target };
    const open = await store.getRecord<OpenState>(NAMESPACE, target);
    const now = clock();
    if (open === undefined) {
      this.closedUntil.set(target, now + Math.min(this.settings.recheckMs, this.settings.firstProbeIntervalMs / 2));
      return { run: true, target };
    }
    if (now < open.probeAt) return { run: false, target, until: open.probeAt };
    const owner = `${instanceId}:probe:${++this.probes}`;
    if (await store.acquireLock(lockName(target), owner, now + this.settings.probeLeaseMs)) {
      this.deps.logger.info({ target }, 'breaker.probe');
      return { run: true, target, probe: { owner } };
    }
    return { run: false, target, until: now + this.settings.recheckMs };
  }

  /** The target answered: a probe's success closes the breaker for every instance. */
  async succeeded(admission: Admission): Promise<void> {
    if (!admission.run) return;
    const { target } = admission;
    this.failures.delete(target);
    if (!admission.probe) return;
    const { store, clock, logger } = this.deps;
    await store.putRecord(NAMESPACE, target, null, clock()); // expired at once: reads as absent, closed
    await store.releaseLock(lockName(target), admission.probe.owner);
    logger.info({ target }, 'breaker.closed');
  }

  /** The target did not answer (timeout, network failure, 5xx). */
  async failed(admission: Admission): Promise<void> {
    if (!admission.run) return;
    const { target } = admission;
    const { store, logger } = this.deps;
    if (admission.probe) {
      const open = await store.getRecord<OpenState>(NAMESPACE, target);
      const intervalMs = Math.min((open?.intervalMs ?? this.settings.firstProbeIntervalMs) * 2, this.settings.maxProbeIntervalMs);
      await this.open(target, intervalMs);
      await store.releaseLock(lockName(target), admission.probe.owner);
      logger.warn({ target, nextProbeInMs: intervalMs }, 'breaker.probe_failed');
      return;
    }
    const failures = (this.failures.get(target) ?? 0) + 1;
    this.failures.set(target, failures);
    if (failures < this.settings.failureThreshold) return;
    this.failures.delete(target);
    // Another instance may have opened it already: its interval stands.
    if ((await store.getRecord<OpenState>(NAMESPACE, target)) !== undefined) return;
    await this.open(target, this.settings.firstProbeIntervalMs);
    logger.warn({ target, failures, nextProbeInMs: this.settings.firstProbeIntervalMs }, 'breaker.opened');
  }

  /** A probe that did not run after all (another target of its job held it back): the next job may probe. */
  async release(admission: Admission): Promise<void> {
    if (admission.run && admission.probe) await this.deps.store.releaseLock(lockName(admission.target), admission.probe.owner);
  }

  private async open(target: string, intervalMs: number): Promise<void> {
    const { store, clock } = this.deps;
    this.closedUntil.delete(target);
    const probeAt = clock() + intervalMs;
    await store.putRecord(NAMESPACE, target, { intervalMs, probeAt } satisfies OpenState, probeAt + FORGET_AFTER_MS);
    await store.pause(target, probeAt);
  }
}

function lockName(target: string): string {
  return `breaker-probe:${target}`;
}
