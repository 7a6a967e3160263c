/** Property-test input: realistic documents with one value replaced by arbitrary JSON, or removed. */
import fc from 'fast-check';

type Path = Array<string | number>;

/** One of `documents`, cloned, with the value at one path replaced by arbitrary JSON or removed. */
export function mutatedDocument(documents: readonly unknown[]): fc.Arbitrary<unknown> {
  const candidates = documents.map((doc) => ({ doc, paths: pathsOf(doc) })).filter((c) => c.paths.length > 0);
  return fc
    .tuple(fc.nat({ max: candidates.length - 1 }), fc.nat(), fc.option(fc.jsonValue(), { nil: undefined }))
    .map(([which, at, replacement]) => {
      const { doc, paths } = candidates[which]!;
      const mutated = structuredClone(doc);
      setAt(mutated, paths[at % paths.length]!, replacement);
      return mutated;
    });
}

/** Every path to a value inside a JSON document (the root excluded). */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const path = [...prefix, Array.isArray(value) ? Number(k) : k];
    return [path, ...pathsOf(v, path)];
  });
}

/** Replaces the value at `path`, or removes it when `replacement` is undefined. */
function setAt(doc: any, path: Path, replacement: unknown): void {
  const parent = path.slice(0, -1).reduce((node, key) => node[key], doc);
  const key = path[path.length - 1]!;
  if (replacement !== undefined) parent[key] = replacement;
  else if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
}
