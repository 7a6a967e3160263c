/**
 * What PostgreSQL cannot store as given: text with NUL characters, and times that are not integers. Checked
 * per caller before a write joins a group commit, so one bad value fails only its caller, not everyone's batch.
 */

/** A key with NUL refused for its caller only. */
export function checkText(...values: string[]): void {
  if (!storable(...values)) throw new TypeError('store keys must not contain NUL characters');
}

/** Error texts come from other services: a NUL in one must not fail the batch that records it. */
export function freeText(text: string): string {
  return String(text).replaceAll('\u0000', '\uFFFD');
}

/** A key with NUL was never stored, so a read of it finds nothing (rather than a database error). */
export function storable(...values: string[]): boolean {
  return values.every((value) => !value.includes('\u0000'));
}

/** Epoch ms as an integer, for bigint columns. */
export function ms(value: number): number {
  if (!Number.isFinite(value)) throw new TypeError(`not a time: ${value}`);
  return Math.floor(value);
}
