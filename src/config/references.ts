/**
 * `${NAME}` references to the environment in a configuration file.
 *
 * A reference may stand anywhere, including unquoted inside a YAML flow map (`{ secret: ${SECRET} }`, where a bare
 * `{` would open a nested map). So references are swapped for inert placeholders before the YAML parser runs, and
 * the values are put back into the parsed strings afterwards: a value is never parsed as YAML, so a secret containing
 * `#`, `:` or quotes stays exactly what it is. `$$` is a literal `$`. What looks like a reference but is not one
 * (`$NAME` without braces, an unclosed `${`) is refused, since it would silently stay in the value.
 */
import { randomBytes } from 'node:crypto';
import { formatPath } from './paths.js';

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const DOLLAR = '$$';

export interface HiddenReferences {
  text: string;
  names: string[];
  placeholder: RegExp;
  dollar: string;
}

/** Problems with `$` in the text, one per line they are on; comments are not looked at. */
export function referenceProblems(text: string): string[] {
  const problems: string[] = [];
  text.split('\n').forEach((line, i) => {
    const code = withoutComment(line).replaceAll(DOLLAR, '');
    const at = `line ${i + 1}`;
    for (const m of code.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)) {
      problems.push(`${at}: $${m[1]} is not interpolated: write \${${m[1]}} (or $$ for a literal $)`);
    }
    if (/\$\{(?![A-Za-z_][A-Za-z0-9_]*\})/.test(code)) problems.push(`${at}: an unclosed or invalid \${…}: write \${NAME} with letters, digits and _`);
  });
  return problems;
}

/** The line up to a `#` that starts a YAML comment (at the start or after white space, outside quotes). */
function withoutComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

export function hideReferences(text: string): HiddenReferences {
  const nonce = randomBytes(6).toString('hex');
  const names: string[] = [];
  const dollar = `__dmbridge_dollar_${nonce}__`;
  const hidden = text
    .replaceAll(DOLLAR, dollar)
    .replace(REFERENCE, (_m, name: string) => `__dmbridge_env_${nonce}_${names.push(name) - 1}__`);
  return { text: hidden, names, placeholder: new RegExp(`__dmbridge_env_${nonce}_(\\d+)__`, 'g'), dollar };
}

/**
 * Puts the environment's values where the placeholders are. Every variable that is not set is reported, each with
 * the key that uses it; `missing` collects them and the caller reports them all at once.
 */
export function restoreReferences(value: unknown, refs: HiddenReferences, env: NodeJS.ProcessEnv, missing: string[], path: PropertyKey[] = []): unknown {
  if (typeof value === 'string') {
    return value
      .replace(refs.placeholder, (_m, index: string) => {
        const name = refs.names[Number(index)]!;
        const v = env[name];
        if (v === undefined) missing.push(`${formatPath(path)}: environment variable ${name} is not set`);
        return v ?? '';
      })
      .replaceAll(refs.dollar, '$');
  }
  if (Array.isArray(value)) return value.map((v, i) => restoreReferences(v, refs, env, missing, [...path, i]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, restoreReferences(v, refs, env, missing, [...path, k])]));
  }
  return value;
}
