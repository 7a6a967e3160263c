/**
 * A cold start of one bundled function, as Lambda makes it: a fresh Node process defines the `awslambda` global
 * (as the Node.js runtime does before it loads a function), imports the bundle (which runs its init: the
 * configuration secret, the bridge) and, if given an event, invokes the handler once. It reports how long the
 * import and init took and what the handler answered. Used by bench/lambda.ts and by test/aws/lambda-bundle.test.ts.
 */
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export interface ColdStart {
  /** From just before `import()` of the bundle to its top-level await having finished. */
  importInitMs: number;
  /** CPU time (user + system) the process spent in that span: what a busy machine does not stretch. */
  importInitCpuMs: number;
  /** From spawning the process to the handler being ready (Node's own start-up included). */
  processToReadyMs: number;
  /** The handler's answer to the event; for a streaming handler its prelude's status and the bytes it wrote. */
  answer?: unknown;
}

const CHILD = `
const { Writable } = await import('node:stream');
const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
globalThis.awslambda = {
  streamifyResponse(handler) { handler[STREAMING] = 'response'; return handler; },
  HttpResponseStream: { from(stream, prelude) { stream.prelude = prelude; return stream; } },
};
const started = performance.now();
const cpu = process.cpuUsage();
const mod = await import(process.env.BUNDLE_URL);
const importInitMs = performance.now() - started;
const spent = process.cpuUsage(cpu);
const importInitCpuMs = (spent.user + spent.system) / 1000;
const readyAt = Date.now();
let answer;
if (process.env.BUNDLE_EVENT) {
  const event = JSON.parse(process.env.BUNDLE_EVENT);
  const context = { functionName: 'cold-start', awsRequestId: 'cold-start', getRemainingTimeInMillis: () => 60000 };
  if (mod.handler[STREAMING] === 'response') {
    const chunks = [];
    const stream = new Writable({ write(chunk, _e, done) { chunks.push(chunk); done(); } });
    stream.setContentType = () => {};
    await mod.handler(event, stream, context);
    answer = { statusCode: stream.prelude?.statusCode, body: Buffer.concat(chunks).toString('utf8') };
  } else {
    answer = await mod.handler(event, context);
  }
}
process.stdout.write(JSON.stringify({ importInitMs, importInitCpuMs, readyAt, answer }));
process.exit(0);
`;

export async function coldStart(bundleFile: string, env: Record<string, string>, event?: unknown): Promise<ColdStart> {
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', ...env, BUNDLE_URL: pathToFileURL(bundleFile).href, ...(event !== undefined ? { BUNDLE_EVENT: JSON.stringify(event) } : {}) },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the cold start of ${bundleFile} failed (exit ${code}): ${err.slice(-2000)}`);
  const parsed = JSON.parse(out) as { importInitMs: number; importInitCpuMs: number; readyAt: number; answer?: unknown };
  return {
    importInitMs: parsed.importInitMs,
    importInitCpuMs: parsed.importInitCpuMs,
    processToReadyMs: parsed.readyAt - spawnedAt,
    ...(parsed.answer !== undefined ? { answer: parsed.answer } : {}),
  };
}
