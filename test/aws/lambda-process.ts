/**
 * One Lambda function as the service runs it, on this machine: each execution environment is a Node process of its
 * own that imports the built entry (dist/src/entry/lambda-*.js, so its init reads the configuration secret), then
 * takes one invocation at a time. Between invocations the environment is frozen (SIGSTOP), as Lambda freezes it
 * once the function has answered: whatever the function left running does not run until the next invocation.
 * An environment that dies (or is killed) is replaced by a fresh one, with a cold start, at the next invocation.
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const DIST_ENTRY = join(import.meta.dirname, '..', '..', 'dist', 'src', 'entry');

/** The runtime inside each environment: init, then invocations over IPC with a deadline each. */
const RUNTIME = `
const { pathToFileURL } = await import('node:url');
const { randomUUID } = await import('node:crypto');
let mod;
try {
  mod = await import(pathToFileURL(process.env.LAMBDA_ENTRY).href);
} catch (err) {
  process.send({ initError: String(err && err.stack || err) });
  process.exit(1);
}
process.on('disconnect', () => process.exit(0));
process.on('message', async ({ id, event, timeoutMs }) => {
  const deadline = Date.now() + timeoutMs;
  const context = { awsRequestId: randomUUID(), functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) };
  try {
    process.send({ id, result: await mod.handler(event, context) });
  } catch (err) {
    process.send({ id, error: String(err && err.stack || err) });
  }
});
process.send({ ready: true });
`;

interface Environment {
  child: ChildProcess;
  exited: Promise<void>;
}

export class LambdaFunctionProcess {
  coldStarts = 0;
  private current: Environment | undefined;
  private nextId = 0;
  private stderr = '';

  /** `entry`: the built entry's file name, e.g. `lambda-sqs.js`; `env`: the function's environment. */
  constructor(
    private readonly entry: string,
    private readonly env: Record<string, string>,
  ) {}

  /** One invocation; rejects if the environment dies during it (Lambda then retries nothing: the caller decides). */
  async invoke<T>(event: unknown, timeoutMs = 60_000): Promise<T> {
    const env = this.current ?? (await this.start());
    const id = this.nextId++;
    env.child.kill('SIGCONT');
    const answer = new Promise<T>((resolve, reject) => {
      const onMessage = (msg: { id?: number; result?: T; error?: string }) => {
        if (msg.id !== id) return;
        env.child.off('message', onMessage);
        if (msg.error !== undefined) reject(new Error(msg.error));
        else resolve(msg.result as T);
      };
      env.child.on('message', onMessage);
      void env.exited.then(() => reject(new Error('the execution environment died during the invocation')));
    });
    env.child.send({ id, event, timeoutMs });
    try {
      return await answer;
    } finally {
      // Frozen until the next invocation: nothing the function left behind runs meanwhile.
      if (this.current === env) env.child.kill('SIGSTOP');
    }
  }

  /** SIGKILL the environment, mid-invocation or frozen: the next invocation gets a fresh one. */
  async kill(): Promise<void> {
    const env = this.current;
    if (!env) return;
    this.current = undefined;
    env.child.kill('SIGKILL');
    await env.exited;
  }

  output(): string {
    return this.stderr.slice(-4000);
  }

  close(): Promise<void> {
    return this.kill();
  }

  private async start(): Promise<Environment> {
    const child = spawn(process.execPath, ['--input-type=module', '-e', RUNTIME], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { PATH: process.env.PATH ?? '', ...this.env, LAMBDA_ENTRY: join(DIST_ENTRY, this.entry), AWS_LAMBDA_FUNCTION_NAME: this.entry.replace(/\.js$/, '') },
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-16_000);
    });
    spawned.add(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    void exited.then(() => {
      spawned.delete(child);
      if (this.current?.child === child) this.current = undefined;
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', (msg: { ready?: boolean; initError?: string }) => (msg.ready ? resolve() : reject(new Error(`init failed: ${msg.initError}`))));
      void exited.then(() => reject(new Error(`the execution environment exited during init; is dist/ built? ${this.output()}`)));
    });
    this.coldStarts++;
    this.current = { child, exited };
    return this.current;
  }
}

/** Environments still running when this process exits (a run that ends without its hooks) are killed with it. */
const spawned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of spawned) child.kill('SIGKILL');
});
