/**
 * The layers of src/ (docs/architecture.md) and the one rule between them: a module imports only from its own
 * unit or from a lower layer. Units of one layer do not import each other (a channel does not know Genesys; the
 * jobs do not know the worker), and one channel does not import another. Static and dynamic imports count, type
 * imports too: a type from a higher layer is a dependency on it all the same.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHANNELS } from '../../src/channels/index.js';

const SRC = join(import.meta.dirname, '..', '..', 'src');

/** Lowest first. A unit is a folder or a file of src/; `channels/<name>/` are units of their own. */
const LAYERS: ReadonlyArray<readonly string[]> = [
  ['logger.ts', 'metrics.ts'],
  ['core'],
  ['net'],
  ['store', 'genesys', 'channels'],
  ['jobs', 'queue'],
  ['intake'],
  ['media'],
  ['http'],
  ['config'],
  ['bridge.ts', 'sandbox'],
  ['entry'],
];

/**
 * The unit a file belongs to: `core`, `bridge.ts`, `channels/<name>` for a channel, `channels/registry` for
 * src/channels/index.ts, `channels/shared` for helpers at the root of src/channels/.
 */
function unitOf(file: string): string {
  const parts = relative(SRC, file).split(/[\\/]/);
  if (parts[0] !== 'channels') return parts[0]!;
  if (parts.length > 2) return `channels/${parts[1]}`;
  return parts[1] === 'index.ts' ? 'channels/registry' : 'channels/shared';
}

function layerOf(unit: string): number {
  const top = unit.split('/')[0]!;
  const layer = LAYERS.findIndex((units) => units.includes(top));
  if (layer < 0) throw new Error(`src/${unit} is in no layer: add it to LAYERS in test/architecture/layers.test.ts`);
  return layer;
}

/** May `from` import `to`? */
function allowed(from: string, to: string): boolean {
  if (from === to) return true;
  const [a, b] = [layerOf(from), layerOf(to)];
  if (a !== b) return a > b;
  // The registry lists every channel; a channel may use the shared helpers, never another channel or the registry.
  if (from === 'channels/registry') return to.startsWith('channels/');
  if (from.startsWith('channels/') && from !== 'channels/shared') return to === 'channels/shared';
  return false;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)'(\.{1,2}\/[^']+)'/g;

interface Edge {
  file: string;
  target: string;
}

function edges(): Edge[] {
  return sourceFiles(SRC).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => ({ file, target: resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')) })),
  );
}

describe('the layers of src/', () => {
  it('every import goes to the same unit or to a lower layer', () => {
    const upward = edges()
      .filter(({ file, target }) => !allowed(unitOf(file), unitOf(target)))
      .map(({ file, target }) => `${relative(SRC, file)} → ${relative(SRC, target)}`);
    expect(upward).toEqual([]);
  });

  it('reads static, type and dynamic imports alike', () => {
    const seen = edges().map(({ file, target }) => `${relative(SRC, file)} → ${relative(SRC, target)}`);
    expect(seen).toContain(`bridge.ts → ${join('channels', 'index.ts')}`);
    expect(seen).toContain(`${join('store', 'open.ts')} → ${join('store', 'sqlite', 'index.ts')}`);
    expect(seen).toContain(`${join('core', 'channel.ts')} → logger.ts`);
  });

  it('knows every folder and file of src/', () => {
    const units = new Set(sourceFiles(SRC).map(unitOf));
    for (const unit of units) expect(() => layerOf(unit)).not.toThrow();
  });

  it('sees an upward import as one (the rule itself is checked)', () => {
    expect(allowed('core', 'store')).toBe(false);
    expect(allowed('channels/tiktok', 'genesys')).toBe(false);
    expect(allowed('channels/tiktok', 'channels/instagram')).toBe(false);
    expect(allowed('jobs', 'queue')).toBe(false);
    expect(allowed('store', 'core')).toBe(true);
    expect(allowed('channels/tiktok', 'channels/registry')).toBe(false);
    expect(allowed('channels/registry', 'channels/tiktok')).toBe(true);
    expect(allowed('channels/tiktok', 'channels/shared')).toBe(true);
  });
});

describe('channel names outside src/channels/', () => {
  it('appear nowhere in the code: everything else loops over the registry', () => {
    const names = CHANNELS.map((c) => c.name);
    const word = new RegExp(`\\b(${names.map((n) => n.replace(/[-]/g, '[-_ ]?')).join('|')})\\b`, 'i');
    const found = sourceFiles(SRC)
      .filter((file) => !relative(SRC, file).startsWith(`channels`))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .flatMap((line, i) => (word.test(line) ? [`${relative(SRC, file)}:${i + 1}: ${line.trim()}`] : [])),
      );
    expect(found).toEqual([]);
  });
});
