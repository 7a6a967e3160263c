/**
 * The sandbox clock: real time plus an offset that only moves forward, so that the console can let a day pass and
 * close a reply window without waiting for it. The bridge runs on it (the window checks, signature ages, token
 * expiry as the bridge counts it, job due times); so do the customers' platforms, which stamp and sign their
 * webhooks with the time of the world the bridge lives in, and so does the agent's Genesys for its notifications.
 * The fake Genesys's tokens keep real time: the bridge only ever finds them older than they are, and fetches new ones.
 */
import type { Clock } from '../core/clock.js';

export interface SandboxClock {
  /** Epoch ms on the sandbox clock. */
  readonly now: Clock;
  /** How far ahead of real time it runs, ms. */
  offsetMs(): number;
  /** Moves the clock forward by `ms` (> 0); returns the new time. */
  advance(ms: number): number;
  /** A real-time instant (epoch ms) on the sandbox clock, by the offset in force at that instant. */
  at(realMs: number): number;
}

export function createSandboxClock(): SandboxClock {
  /** Offsets in force from each real instant on, oldest first. */
  const steps: Array<{ from: number; offsetMs: number }> = [{ from: -Infinity, offsetMs: 0 }];
  const current = () => steps.at(-1)!.offsetMs;
  return {
    now: () => Date.now() + current(),
    offsetMs: current,
    advance(ms) {
      if (!Number.isFinite(ms) || ms <= 0) throw new RangeError('the sandbox clock only moves forward: give a positive duration');
      const from = Date.now();
      steps.push({ from, offsetMs: current() + ms });
      return from + current();
    },
    at(realMs) {
      for (let i = steps.length - 1; i >= 0; i--) if (steps[i]!.from <= realMs) return realMs + steps[i]!.offsetMs;
      return realMs;
    },
  };
}
