/**
 * Running dmbridge as a service: the Dockerfile, compose.yaml and the systemd unit.
 *
 * This machine cannot pull images, so `docker build` is not exercised. What is tested instead is the install the
 * Dockerfile makes and the start command it runs: the final stage's COPY lines are carried out into a temporary
 * root (its /app, /config, /data), the production dependencies are installed by the deps stage's own
 * `npm ci --omit=dev` command from the local npm cache, the image's ENV is the process environment, and its
 * ENTRYPOINT + CMD (parsed from the file) must serve /healthz, answered to its HEALTHCHECK command, carry a DM
 * to a fake Genesys and stop cleanly on SIGTERM. The systemd unit's ExecStart is run the same way.
 *
 * One shortcut, measured: that `npm ci --omit=dev` compiles better-sqlite3 from source, which took 65 s on this
 * 2-core machine (the whole install without it: 2 s). So it runs with `--offline --ignore-scripts`, and the one
 * thing the skipped install script makes, better-sqlite3's `build/Release/better_sqlite3.node`, is copied from
 * this checkout's own `npm ci`, which compiled the same version from the same lockfile on the same platform.
 * Everything else in node_modules is what npm's --omit=dev pruning puts there, so a runtime import of a dev
 * dependency would fail here as it would in the image. The build stage is this checkout: `npm run build` (which
 * `npm test` runs first) made its dist/.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { startFakeGraph, type FakeGraph } from '../src/channels/instagram/sandbox/fake-graph.js';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { TEST, eventually, postInstagram, tempDir } from './helpers.js';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '..');

// ---- a Dockerfile reader: the instructions this project's Dockerfile uses ----

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string | undefined;
  instructions: Instruction[];
}

function readDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const line of logical) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (op.toUpperCase() === 'FROM') stages.push({ name: /\sAS\s+(\S+)$/i.exec(args)?.[1], instructions: [] });
    else stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
  }
  return stages;
}

const all = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op).map((i) => i.args);
const execForm = (args: string): string[] => JSON.parse(args) as string[];

/** `ENV A=1 B=2` (the key=value form). */
function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of all(stage, 'ENV')) for (const [, k, v] of args.matchAll(/(\w+)=(\S+)/g)) env[k!] = v!;
  return env;
}

/** `COPY [--from=stage] [--chown=…] SRC… DEST`. */
function copiesOf(stage: Stage): Array<{ from: string | undefined; sources: string[]; dest: string }> {
  return all(stage, 'COPY').map((args) => {
    const words = args.split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    const paths = words.filter((w) => !w.startsWith('--'));
    return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
  });
}

// ---- the install, made as the Dockerfile makes it ----

const dockerfile = readDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
const final = dockerfile.at(-1)!;
const stage = (name: string) => dockerfile.find((s) => s.name === name)!;

let root: ReturnType<typeof tempDir>;
/** An image path (/app/…, /config/…, /data/…) inside the temporary root. */
const inRoot = (path: string) => join(root.path, path);
const workdir = () => inRoot(all(final, 'WORKDIR').at(-1)!);

function makeInstall(): Promise<void> {
  // The deps stage: its COPY lines from the build context, then its own npm ci command.
  const deps = stage('deps');
  const depsDir = inRoot('stage-deps/app');
  mkdirSync(depsDir, { recursive: true });
  for (const copy of copiesOf(deps)) for (const src of copy.sources) copyFileSync(join(REPO, src), join(depsDir, src));
  const npmCi = all(deps, 'RUN').find((r) => r.startsWith('npm ci'))!;
  return run('npm', [...npmCi.split(/\s+/).slice(1), '--offline', '--ignore-scripts'], { cwd: depsDir, env: { ...process.env, npm_config_build_from_source: 'true' } }).then(() => {
    const addon = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
    mkdirSync(dirname(join(depsDir, addon)), { recursive: true });
    copyFileSync(join(REPO, addon), join(depsDir, addon));
    // The final stage's COPY lines: from the deps stage, from the build stage (this checkout), from the context.
    const stageRoots: Record<string, string> = { deps: inRoot('stage-deps'), build: REPO };
    for (const copy of copiesOf(final)) {
      for (const src of copy.sources) {
        const from = copy.from ? join(stageRoots[copy.from]!, copy.from === 'build' ? src.replace(/^\/app\//, '') : src) : join(REPO, src);
        const to = copy.dest.startsWith('/') ? inRoot(copy.dest) : join(workdir(), copy.dest.endsWith('/') ? src : copy.dest);
        cpSync(from, to, { recursive: true, verbatimSymlinks: true });
      }
    }
    mkdirSync(inRoot('data'), { recursive: true });
    mkdirSync(inRoot('config'), { recursive: true });
  });
}

/** Image paths in a command or an environment value, moved into the temporary root. */
const mapPath = (value: string) => value.replace(/^\/(app|config|data)(?=\/|$)/, `${root.path}/$1`);

// ---- the far side: a fake Genesys and a fake Graph API ----

let genesys: FakeGenesys;
let graph: FakeGraph;
let port: number;
const SECRETS = {
  GENESYS_CLIENT_ID: TEST.genesysClientId,
  GENESYS_CLIENT_SECRET: TEST.genesysClientSecret,
  META_APP_SECRET: TEST.appSecret,
  META_VERIFY_TOKEN: TEST.verifyToken,
  INSTAGRAM_ACCESS_TOKEN: TEST.accessToken,
  GENESYS_WEBHOOK_SECRET: TEST.webhookSecret,
};

/** The operator's file: every secret a ${VARIABLE}, as in deploy/compose/dmbridge.yaml. */
function configText(store: string): string {
  return [
    `server: { host: 127.0.0.1, port: ${port} }`,
    `store: ${store}`,
    'log: { level: info }',
    'genesys:',
    `  loginBaseUrl: ${genesys.url}`,
    `  apiBaseUrl: ${genesys.url}`,
    '  clientId: ${GENESYS_CLIENT_ID}',
    '  clientSecret: ${GENESYS_CLIENT_SECRET}',
    'connections:',
    `  - { id: ${TEST.connectionId}, channel: instagram, accountId: "${TEST.accountId}", graphBaseUrl: ${graph.url},`,
    '      appSecret: ${META_APP_SECRET}, verifyToken: ${META_VERIFY_TOKEN}, accessToken: ${INSTAGRAM_ACCESS_TOKEN},',
    `      genesys: { integrationId: ${TEST.integrationId}, webhookSecret: \${GENESYS_WEBHOOK_SECRET} } }`,
    '',
  ].join('\n');
}

const children: ChildProcess[] = [];
/** Runs `argv` (argv[0] `node`) as the image or the unit would: only the given environment, nothing inherited but PATH. */
function start(argv: string[], env: Record<string, string>, cwd: string): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, argv.slice(1), { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  children.push(child);
  return { child, output: () => output };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

beforeAll(async () => {
  if (!existsSync(join(REPO, 'dist/src/entry/cli.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  root = tempDir('dmbridge-image-');
  genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [TEST.integrationId] });
  graph = await startFakeGraph({ accessToken: TEST.accessToken, accountId: TEST.accountId });
  port = await freePort();
  await makeInstall();
}, 120_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all([genesys?.close(), graph?.close()]);
  root?.cleanup();
});

describe('Dockerfile', () => {
  it('builds with the dev dependencies, installs the production ones from the lockfile, and compiles nothing it downloads', () => {
    expect(all(stage('build'), 'RUN')).toEqual(expect.arrayContaining(['npm ci --no-audit --no-fund', 'npm run build']));
    expect(all(stage('deps'), 'RUN')).toContain('npm ci --omit=dev --no-audit --no-fund');
    for (const name of ['build', 'deps']) expect(envOf(stage(name)).npm_config_build_from_source).toBe('true');
    expect(all(final, 'RUN').join(' ')).not.toMatch(/\bnpm\b|\bnpx\b|curl|wget/);
  });

  it('runs as a non-root user with /data as a volume and a health check on /healthz', () => {
    const user = all(final, 'USER').at(-1)!;
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(execForm(all(final, 'VOLUME').at(-1)!)).toEqual(['/data']);
    expect(envOf(final).DMBRIDGE_HEALTHCHECK_URL).toMatch(/^http:\/\/127\.0\.0\.1:8080\/healthz$/);
    expect(all(final, 'HEALTHCHECK')[0]).toMatch(/--interval=\S+ .*CMD \[/);
  });

  it('installs no dev dependency', () => {
    for (const dev of Object.keys((JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { devDependencies: object }).devDependencies)) {
      expect(existsSync(join(workdir(), 'node_modules', dev)), dev).toBe(false);
    }
    expect(existsSync(join(workdir(), 'node_modules/better-sqlite3/package.json'))).toBe(true);
  });

  it("serves /healthz with the image's start command, passes its HEALTHCHECK, carries a DM to Genesys and stops on SIGTERM", async () => {
    writeFileSync(inRoot('config/dmbridge.yaml'), configText(`sqlite:${inRoot('data/dmbridge.db')}`));
    const env = Object.fromEntries(Object.entries(envOf(final)).map(([k, v]) => [k, mapPath(v)]));
    // What `docker run -e DMBRIDGE_HEALTHCHECK_URL=… --env-file secrets.env` would add.
    Object.assign(env, SECRETS, { DMBRIDGE_HEALTHCHECK_URL: `http://127.0.0.1:${port}/healthz` });
    const command = [...execForm(all(final, 'ENTRYPOINT').at(-1)!), ...execForm(all(final, 'CMD').at(-1)!)].map(mapPath);
    expect(command[0]).toBe('node');
    const bridge = start(command, env, workdir());

    const healthcheck = execForm(all(final, 'HEALTHCHECK')[0]!.replace(/^.*?CMD\s+/, ''));
    const healthy = await eventually(async () => {
      const check = start(healthcheck, env, workdir());
      return (await new Promise<number | null>((resolve) => check.child.once('exit', resolve))) === 0;
    }, 30_000, 200);
    expect(healthy, bridge.output()).toBe(true);
    expect(await (await fetch(env.DMBRIDGE_HEALTHCHECK_URL!)).json()).toEqual({ status: 'ok' });

    const dm = instagramDmWebhook({ mid: fakeMid(), timestamp: Date.now(), from: TEST.customer, text: 'Hello from the clean install' }, TEST.accountId);
    expect((await postInstagram(`http://127.0.0.1:${port}`, dm)).status).toBe(200);
    await genesys.waitForMessages(1, 15_000);
    expect(existsSync(inRoot('data/dmbridge.db'))).toBe(true);

    expect(await stop(bridge.child)).toBe(0);
  });
});

describe('compose.yaml', () => {
  const compose = parse(readFileSync(join(REPO, 'compose.yaml'), 'utf8')) as {
    services: Record<string, { image?: string; build?: string; healthcheck?: { test: string[] }; depends_on?: Record<string, { condition: string }>; volumes?: string[]; env_file?: string | string[] }>;
    volumes: Record<string, unknown>;
  };

  it('runs the bridge after a healthy PostgreSQL kept on a named volume, with the configuration mounted read-only', () => {
    const { postgres, dmbridge } = compose.services;
    expect(postgres?.healthcheck?.test.join(' ')).toContain('pg_isready');
    const [pgVolume] = postgres!.volumes![0]!.split(':');
    expect(Object.keys(compose.volumes)).toContain(pgVolume);
    expect(dmbridge?.depends_on?.postgres?.condition).toBe('service_healthy');
    expect(dmbridge?.build).toBe('.');
    expect(dmbridge?.volumes).toContain('./deploy/compose/dmbridge.yaml:/config/dmbridge.yaml:ro');
  });

  it("mounts a configuration that passes `config check` with the example env files' values", async () => {
    const envFiles = ['deploy/compose/postgres.env.example', 'deploy/compose/dmbridge.env.example'];
    const env: Record<string, string> = {};
    for (const file of envFiles) {
      for (const line of readFileSync(join(REPO, file), 'utf8').split('\n')) {
        const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
        if (m) env[m[1]!] = m[2]!;
      }
    }
    const { stdout } = await run(process.execPath, [join(REPO, 'dist/src/entry/cli.js'), 'config', 'check', '--config', join(REPO, 'deploy/compose/dmbridge.yaml')], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    expect(stdout).toContain('valid');
  });
});

describe('deploy/systemd/dmbridge.service', () => {
  const unitFile = join(REPO, 'deploy/systemd/dmbridge.service');
  const unit = readFileSync(unitFile, 'utf8');
  const directive = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);

  it('is a valid, hardened unit: its own user, a state directory, a read-only system, no new privileges, restarted on failure', async () => {
    const { stderr } = await run('systemd-analyze', ['verify', unitFile]);
    expect(stderr).toBe('');
    expect(directive('User')).toEqual(['dmbridge']);
    expect(directive('StateDirectory')).toEqual(['dmbridge']);
    expect(directive('ProtectSystem')).toEqual(['strict']);
    expect(directive('NoNewPrivileges')).toEqual(['yes']);
    expect(directive('Restart')).toEqual(['on-failure']);
    expect(directive('EnvironmentFile')).toEqual(['/etc/dmbridge/dmbridge.env']);
  });

  it('starts a bridge that serves /healthz from its ExecStart, with the secrets of its EnvironmentFile', async () => {
    // /opt/dmbridge is the install made above; /etc/dmbridge and /var/lib/dmbridge are folders of the temporary root.
    const etc = inRoot('etc/dmbridge');
    const state = inRoot('var/lib/dmbridge');
    mkdirSync(etc, { recursive: true });
    mkdirSync(state, { recursive: true });
    const map = (v: string) => v.replace('/opt/dmbridge', workdir()).replace('/etc/dmbridge', etc).replace('/var/lib/dmbridge', state);
    writeFileSync(join(etc, 'dmbridge.yaml'), configText(`sqlite:${join(state, 'dmbridge.db')}`));
    writeFileSync(map(directive('EnvironmentFile')[0]!), Object.entries(SECRETS).map(([k, v]) => `${k}=${v}\n`).join(''));
    const env: Record<string, string> = {};
    for (const line of readFileSync(map(directive('EnvironmentFile')[0]!), 'utf8').split('\n')) {
      const m = /^(\w+)=(.*)$/.exec(line);
      if (m) env[m[1]!] = m[2]!;
    }
    for (const assignment of directive('Environment')) Object.assign(env, Object.fromEntries([assignment.split('=')]));
    const command = directive('ExecStart')[0]!.split(/\s+/).map(map);
    expect(command[0]).toBe('/usr/bin/node');
    const bridge = start(['node', ...command.slice(1)], env, map(directive('WorkingDirectory')[0]!));
    expect(await eventually(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 30_000, 200), bridge.output()).toBe(true);
    expect(await stop(bridge.child)).toBe(0);
    expect(existsSync(join(state, 'dmbridge.db'))).toBe(true);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: free } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return free;
}
