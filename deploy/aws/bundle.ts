/**
 * Bundles each Lambda entry with esbuild into `<outDir>/<function>/index.mjs`, the one way the CDK app
 * (./app.ts), the tests and the benchmark (bench/lambda.ts) build them. The stack deploys these folders as they are.
 *
 * - ESM for Node.js 22, minified, with a banner defining `require`: pino and other CommonJS code call require()
 *   on Node's built-ins, which an ESM bundle otherwise lacks.
 * - Neither SQLite nor PostgreSQL: their drivers are external and never loaded, since src/store/open.ts imports
 *   each engine only when the Node server selects it.
 * - The AWS SDK is bundled at the pinned version, with the environment as its only credential source
 *   (./lambda-credentials.ts).
 * - Without the channels' sandbox and doctor facets: each module loads them with `import()` only for `dmbridge
 *   sandbox` and `dmbridge doctor`, which never run on Lambda, but esbuild would inline them (and the Node HTTP server
 *   the fakes listen with) into the one file.
 * - zod's error messages in English only: zod exports 40-odd locales from its namespace object, so none of them
 *   can be tree-shaken, and they would be a quarter of the bundle. dmbridge never selects one.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';
import type { LambdaEntries } from './entries.js';

export type FunctionName = keyof LambdaEntries;

export interface BundledFunction {
  /** The folder to deploy: it holds index.mjs, whose `handler` export Lambda calls. */
  dir: string;
  file: string;
  bytes: number;
  metafile: Metafile;
}

const REQUIRE_BANNER = "import { createRequire as __dmbridgeCreateRequire } from 'node:module'; const require = __dmbridgeCreateRequire(import.meta.url);";

/** `../locales/index.js` as zod's core and classic API import it, reduced to the English locale. */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](core|classic)[\\/]/.test(args.importer) ? { path: join(dirname(args.importer), '..', 'locales'), namespace: 'zod-locales' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(join(args.path, 'en.js'))};`,
      resolveDir: args.path,
      loader: 'js',
    }));
  },
};

/** A channel's `./sandbox/index.js` and `./doctor.js`, replaced by a module that says why it is absent if ever loaded. */
const withoutNodeOnlyFacets: Plugin = {
  name: 'without-node-only-facets',
  setup(b) {
    b.onResolve({ filter: /^\.\/(sandbox\/index|doctor)\.js$/ }, (args) =>
      /[\\/]src[\\/]channels[\\/][^\\/]+[\\/]index\.ts$/.test(args.importer) ? { path: args.path, namespace: 'node-only' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'node-only' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is for the Node CLI (sandbox, doctor) and not part of the Lambda bundle`)});`,
      loader: 'js',
    }));
  },
};

export async function bundleFunction(projectRoot: string, entry: string, outDir: string): Promise<BundledFunction> {
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, 'index.mjs');
  const result = await build({
    absWorkingDir: projectRoot,
    entryPoints: [join(projectRoot, entry)],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    mainFields: ['module', 'main'],
    banner: { js: REQUIRE_BANNER },
    external: ['better-sqlite3', 'pg', 'pg-native'],
    alias: { '@aws-sdk/credential-provider-node': join(projectRoot, 'deploy', 'aws', 'lambda-credentials.ts') },
    plugins: [zodEnglishOnly, withoutNodeOnlyFacets],
    metafile: true,
    logLevel: 'warning',
  });
  const output = Object.values(result.metafile.outputs)[0]!;
  return { dir: outDir, file, bytes: output.bytes, metafile: result.metafile };
}

/** Every function of the stack, each in its own folder under `outDir`. */
export async function bundleFunctions(projectRoot: string, entries: LambdaEntries, outDir: string): Promise<Record<FunctionName, BundledFunction>> {
  const names = Object.keys(entries) as FunctionName[];
  const bundles = await Promise.all(names.map((name) => bundleFunction(projectRoot, entries[name], join(outDir, name))));
  return Object.fromEntries(names.map((name, i) => [name, bundles[i]!])) as Record<FunctionName, BundledFunction>;
}
