/**
 * Every refusal code the bridge answers is in the one table (src/core/errors.ts, DMB_ERR) and explained in
 * docs/errors.md with the same HTTP status; no code is spelled out anywhere else in the source, so the table is the
 * only place a code can come from.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DMB_ERR } from '../../src/core/errors.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');

/** `| \`DMB_ERR_X\` | 401 | …` rows of the doc's table. */
function documented(): Map<string, number> {
  const rows = new Map<string, number>();
  for (const match of DOC.matchAll(/^\|\s*`(DMB_ERR_[A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)) rows.set(match[1]!, Number(match[2]));
  return rows;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('docs/errors.md and the DMB_ERR table', () => {
  it('document exactly the codes the table defines, each with the status the bridge answers', () => {
    const table = new Map(Object.values(DMB_ERR).map((e) => [e.code, e.status]));
    expect(Object.fromEntries(documented())).toEqual(Object.fromEntries(table));
  });

  it('leave no code to be spelled out as a string anywhere else in src/', () => {
    const elsewhere = sourceFiles(join(ROOT, 'src'))
      .filter((file) => !file.endsWith(join('core', 'errors.ts')))
      .flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/DMB_ERR_[A-Z_]+/g)].map((m) => `${relative(ROOT, file)}: ${m[0]}`));
    expect(elsewhere).toEqual([]);
  });
});
