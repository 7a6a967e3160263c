/**
 * "did you mean …?" for a key the schema does not know: the known keys at that place of the document, from the
 * schema itself, and the nearest by edit distance.
 */
import type { z } from 'zod';

/** The keys a strict object accepts at `path` of `raw`, following arrays and the `channel` of a connection. */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[], raw: unknown): string[] {
  let node: unknown = schema;
  let value: unknown = raw;
  for (const part of path) {
    node = objectOf(node, value);
    const shape = shapeOf(node);
    if (typeof part === 'number') node = elementOf(node);
    else if (shape && typeof part === 'string') node = shape[part];
    else return [];
    value = (value as Record<PropertyKey, unknown> | undefined)?.[part];
  }
  return Object.keys(shapeOf(objectOf(node, value)) ?? {});
}

/** The known key nearest to `key`, when it is near enough to be a typo. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { key: candidate, distance };
  }
  return best && best.distance <= Math.max(1, Math.floor(best.key.length / 3)) ? best.key : undefined;
}

interface Def {
  type?: string;
  innerType?: unknown;
  in?: unknown;
  element?: unknown;
  options?: unknown[];
  shape?: Record<string, unknown>;
}

function defOf(node: unknown): Def | undefined {
  return (node as { _zod?: { def?: Def } } | undefined)?._zod?.def;
}

/** Through defaults, optionals, pipes and transforms to the object (or array) underneath; a union by its value. */
function objectOf(node: unknown, value: unknown): unknown {
  for (let def = defOf(node); def; def = defOf(node)) {
    if (def.shape || def.type === 'array') return node;
    if (def.options) {
      const channel = (value as { channel?: unknown } | undefined)?.channel;
      node = def.options.find((o) => (shapeOf(o)?.channel as { _zod?: { def?: { values?: unknown[] } } } | undefined)?._zod?.def?.values?.includes(channel));
      continue;
    }
    node = def.innerType ?? def.in;
  }
  return node;
}

function shapeOf(node: unknown): Record<string, unknown> | undefined {
  return defOf(node)?.shape;
}

function elementOf(node: unknown): unknown {
  return defOf(node)?.element;
}

/** Edits between two strings, a swap of neighbours counting as one (`stroe` → `store`): optimal string alignment. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}
