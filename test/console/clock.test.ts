/** The sandbox clock: real time plus an offset that only moves forward, and instants of the past put on it. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSandboxClock } from '../../src/sandbox/clock.js';
import { sandboxPorts } from '../../src/sandbox/config.js';

describe('the sandbox clock', () => {
  it('runs with real time until advanced, then that far ahead of it', () => {
    const clock = createSandboxClock();
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(50);
    clock.advance(25 * 3_600_000);
    expect(clock.offsetMs()).toBe(25 * 3_600_000);
    expect(Math.abs(clock.now() - (Date.now() + 25 * 3_600_000))).toBeLessThan(50);
  });

  it('never moves back', () => {
    const clock = createSandboxClock();
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => clock.advance(bad)).toThrow(RangeError);
    expect(clock.offsetMs()).toBe(0);
  });

  it('puts a recorded instant on the clock by the offset in force when it was recorded', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10 * 86_400_000 }), { minLength: 1, maxLength: 6 }), (steps) => {
        const clock = createSandboxClock();
        const before = Date.now() - 1000;
        let total = 0;
        for (const step of steps) {
          clock.advance(step);
          total += step;
        }
        expect(clock.at(before)).toBe(before);
        const later = Date.now() + 1000;
        expect(clock.at(later)).toBe(later + total);
      }),
      { numRuns: 50 },
    );
  });
});

describe('the sandbox ports', () => {
  it("follow one base: the bridge, the console, the fake Genesys, each channel in registry order, then the fake Genesys's storage", () => {
    const plan = sandboxPorts(9000, ['Acme', 'Chirp']);
    expect(plan).toMatchObject({ bridge: 9000, console: 9001, genesys: 9002, channels: [9003, 9004], genesysStorage: 9005 });
    expect(plan.all.map((p) => `${p.port} ${p.what}`)).toEqual([
      '9000 the bridge',
      '9001 the console',
      '9002 the fake Genesys',
      '9003 the fake Acme',
      '9004 the fake Chirp',
      "9005 the fake Genesys's attachment storage",
    ]);
    expect(sandboxPorts(0, ['Acme'])).toMatchObject({ bridge: 0, console: 0, genesys: 0, channels: [0], genesysStorage: 0 });
  });

  it('refuse a base whose ports do not fit, or that is not a port', () => {
    for (const bad of [65_532, 80, -1, 1.5]) expect(() => sandboxPorts(bad, ['Acme'])).toThrow(RangeError);
    expect(sandboxPorts(65_531, ['Acme'])).toMatchObject({ channels: [65_534], genesysStorage: 65_535 });
  });
});
