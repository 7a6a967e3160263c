/**
 * The `dmbridge` command as an operator uses it (the built CLI, in its own process): explicit modes, the
 * configuration from --config or DMBRIDGE_CONFIG, `config check`, dead letters on SQLite and PostgreSQL,
 * `genesys setup` and `doctor` against the fake Genesys, and --help on every command.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeGraph } from '../src/channels/instagram/sandbox/fake-graph.js';
import type { FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { openStore } from '../src/store/open.js';
import { startDoctorFakes } from './doctor-fakes.js';
import { TEST, rawTestConfig, tempDir } from './helpers.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'entry', 'cli.js');
const PG_URL = process.env.DMBRIDGE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const run = promisify(execFile);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function dmbridge(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, DMBRIDGE_CONFIG: '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const dir = tempDir();
let genesys: FakeGenesys;
let graph: FakeGraph;
const PUBLIC = 'http://127.0.0.1:8443';

beforeAll(async () => {
  ({ genesys, graph } = await startDoctorFakes(PUBLIC));
});
afterAll(async () => {
  await genesys?.close();
  await graph?.close();
  dir.cleanup();
});

/** A configuration file for the fake Genesys; `over` replaces top-level sections. */
function configFile(over: Record<string, unknown> = {}, name = `${randomUUID()}.json`): string {
  const raw = rawTestConfig({ genesysUrl: genesys.url, graphUrl: graph.url, store: `sqlite:${dir.path}/${randomUUID()}.db` });
  const file = join(dir.path, name);
  writeFileSync(file, JSON.stringify({ ...raw, server: { ...raw.server, publicUrl: PUBLIC }, ...over }));
  return file;
}

describe('explicit modes', () => {
  it('refuses to serve without a configuration, naming --config and DMBRIDGE_CONFIG, with exit 2', async () => {
    const ran = await dmbridge(['serve']);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toContain('--config FILE');
    expect(ran.stderr).toContain('DMBRIDGE_CONFIG');
  });

  it('reads the configuration from DMBRIDGE_CONFIG when --config is not given', async () => {
    const ran = await dmbridge(['config', 'check'], { DMBRIDGE_CONFIG: configFile() });
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('valid');
  });

  it('answers an unknown option with the problem and exit 2, never a stack', async () => {
    const ran = await dmbridge(['config', 'check', '--frobnicate']);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toContain('unknown option "--frobnicate"');
    expect(ran.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('dmbridge config check', () => {
  it('prints the webhook URLs to paste into the platform and into Genesys', async () => {
    const ran = await dmbridge(['config', 'check', '--config', configFile()]);
    expect(ran.stdout).toContain(`Instagram: ${PUBLIC}/webhooks/instagram`);
    expect(ran.stdout).toContain(`outbound notification webhook: ${PUBLIC}/webhooks/genesys/${TEST.connectionId}`);
  });

  it('prints them at server.webhookBaseUrl when it is set (on AWS the API, not the media function)', async () => {
    const api = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
    const raw = rawTestConfig({ genesysUrl: genesys.url, graphUrl: graph.url, store: `sqlite:${dir.path}/check-aws.db` });
    const file = join(dir.path, 'check-aws.json');
    writeFileSync(file, JSON.stringify({ ...raw, server: { ...raw.server, publicUrl: 'https://media123.lambda-url.eu-west-1.on.aws/', webhookBaseUrl: api } }));
    const ran = await dmbridge(['config', 'check', '--config', file]);
    expect(ran.stdout).toContain(`Instagram: ${api}/webhooks/instagram`);
    expect(ran.stdout).toContain(`outbound notification webhook: ${api}/webhooks/genesys/${TEST.connectionId}`);
  });

  it("masks the PostgreSQL password of the store URL", async () => {
    const ran = await dmbridge(['config', 'check', '--config', configFile({ store: 'postgres://bridge:s3cret-pass@db.internal:5432/dmbridge' })]);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('postgres://bridge:***@db.internal:5432/dmbridge');
    expect(ran.stdout).not.toContain('s3cret-pass');
  });
});

describe.each([
  ['SQLite', () => `sqlite:${dir.path}/${randomUUID()}.db`],
  ['PostgreSQL', () => `${PG_URL}`],
])('dmbridge dead on %s', (_engine, storeUrl) => {
  const schema = `dmb_cli_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  let file: string;
  let ids: string[];

  beforeAll(async () => {
    const store = storeUrl();
    file = configFile({ store, postgres: { schema } });
    const opened = await openStore(store, { postgres: { schema } });
    await opened.enqueue(['a', 'b', 'c'].map((k) => ({ dedupeKey: `k-${k}`, conversationKey: `conv-${k}`, kind: 'genesys.inbound', payload: { secretText: `message ${k}` } })));
    const leased = await opened.lease({ owner: 'w', limit: 3, leaseMs: 30_000 });
    for (const job of leased) await opened.deadLetter(job.id, 'w', `PermanentError: Genesys refused ${job.dedupeKey}`);
    ids = leased.map((j) => j.id).sort((x, y) => Number(x) - Number(y));
    await opened.close();
  });
  afterAll(async () => {
    if (!storeUrl().startsWith('postgres')) return;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it('lists the dead jobs with their errors and no message content', async () => {
    const ran = await dmbridge(['dead', 'list', '--config', file]);
    expect(ran.code).toBe(0);
    for (const id of ids) expect(ran.stdout).toContain(id);
    expect(ran.stdout).toContain('Genesys refused k-a');
    expect(ran.stdout).not.toContain('message a');
  });

  it('shows one with its payload, and says so for an id that is not dead', async () => {
    expect((await dmbridge(['dead', 'show', ids[0]!, '--config', file])).stdout).toContain('message a');
    const missing = await dmbridge(['dead', 'show', '999999', '--config', file]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no dead job 999999');
  });

  it('requeues one, drops one, then requeues the rest with --all', async () => {
    expect((await dmbridge(['dead', 'retry', ids[0]!, '--config', file])).code).toBe(0);
    expect((await dmbridge(['dead', 'drop', ids[1]!, '--config', file])).code).toBe(0);
    expect((await dmbridge(['dead', 'retry', '--config', file])).code).toBe(2);
    expect((await dmbridge(['dead', 'retry', '--all', '--config', file])).stdout).toContain('requeued 1 dead job');
    expect((await dmbridge(['dead', 'list', '--config', file])).stdout).toContain('no dead letters');
  });
});

describe('dmbridge genesys setup', () => {
  it("creates the integration of a connection that has none yet, and prints what to put in its configuration", async () => {
    const raw = rawTestConfig({ genesysUrl: genesys.url, store: `sqlite:${dir.path}/setup.db` });
    const { genesys: _binding, ...connection } = raw.connections[0]!;
    const file = join(dir.path, 'setup.json');
    writeFileSync(file, JSON.stringify({ ...raw, server: { ...raw.server, publicUrl: PUBLIC }, connections: [{ ...connection, id: 'acme-new' }] }));
    const ran = await dmbridge(['genesys', 'setup', '--config', file, '--connection', 'acme-new', '--timeout', '20']);
    expect(ran.code).toBe(0);
    const created = genesys.openIntegrations().find((i) => i.outboundNotificationWebhookUrl === `${PUBLIC}/webhooks/genesys/acme-new`);
    expect(created).toBeDefined();
    expect(ran.stdout).toContain(`integrationId: "${created!.id}"`);
    expect(ran.stdout).toContain(`GENESYS_ACME_NEW_WEBHOOK_SECRET=${created!.outboundNotificationWebhookSignatureSecretToken}`);
  });

  it('sends agent replies to server.webhookBaseUrl when it is set (on AWS the API, while publicUrl is the media function), and doctor agrees', async () => {
    const api = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
    const raw = rawTestConfig({ genesysUrl: genesys.url, store: `sqlite:${dir.path}/setup-aws.db` });
    const { genesys: _binding, ...connection } = raw.connections[0]!;
    const server = { ...raw.server, publicUrl: 'https://media123.lambda-url.eu-west-1.on.aws/', webhookBaseUrl: api };
    const file = join(dir.path, 'setup-aws.json');
    writeFileSync(file, JSON.stringify({ ...raw, server, connections: [{ ...connection, id: 'acme-aws' }] }));
    expect((await dmbridge(['genesys', 'setup', '--config', file, '--connection', 'acme-aws', '--timeout', '20'])).code).toBe(0);
    const created = genesys.openIntegrations().find((i) => i.name === 'dmbridge acme-aws')!;
    expect(created.outboundNotificationWebhookUrl).toBe(`${api}/webhooks/genesys/acme-aws`);

    const bound = { ...connection, id: 'acme-aws', genesys: { integrationId: created.id, webhookSecret: created.outboundNotificationWebhookSignatureSecretToken } };
    writeFileSync(file, JSON.stringify({ ...raw, server, connections: [bound] }));
    const ran = await dmbridge(['doctor', '--config', file]);
    expect(ran.stdout).toContain('✓ acme-aws: Genesys sends agent replies to this bridge');
  });
});

describe('dmbridge doctor', () => {
  it('passes every check of a configuration that matches its Genesys integration', async () => {
    const ran = await dmbridge(['doctor', '--config', configFile()]);
    expect(ran.stdout).toContain('✓ store: writable');
    expect(ran.stdout).toContain('✓ store: not corrupt');
    expect(ran.stdout).toContain('✓ acme-instagram: Instagram token is valid');
    expect(ran.stdout).toContain('✓ acme-instagram: Instagram webhook fields are subscribed');
    expect(ran.stdout).toMatch(/all \d+ checks passed/);
    expect(ran.code).toBe(0);
  });

  it('fails with exit 1 and a fix when the webhook secret does not match, in JSON too', async () => {
    const raw = rawTestConfig({ genesysUrl: genesys.url, store: `sqlite:${dir.path}/doctor.db` });
    const connection = { ...raw.connections[0]!, genesys: { integrationId: TEST.integrationId, webhookSecret: 'another-secret-0123456789' } };
    const file = configFile({ connections: [connection] });
    const ran = await dmbridge(['doctor', '--config', file, '--json']);
    expect(ran.code).toBe(1);
    const checks = JSON.parse(ran.stdout) as Array<{ ok: boolean; fix?: string }>;
    const failed = checks.filter((c) => !c.ok);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((c) => typeof c.fix === 'string' && c.fix.length > 0)).toBe(true);
    expect(ran.stdout).not.toContain('another-secret-0123456789');
  });
});

describe('--help', () => {
  const commands: Array<[string[], string[]]> = [
    [['serve'], ['--config', '--log-level']],
    [['config', 'check'], ['--config']],
    [['doctor'], ['--config', '--json']],
    [['genesys', 'setup'], ['--connection', '--name', '--keep-secret', '--timeout']],
    [['dead', 'list'], ['--limit', '--json']],
    [['dead', 'show'], ['--config']],
    [['dead', 'retry'], ['--all']],
    [['dead', 'drop'], ['--config']],
    [['sandbox'], ['send', 'reply']],
  ];
  it.each(commands)('dmbridge %s --help lists every option and exits 0', async (command, options) => {
    const ran = await dmbridge([...command, '--help']);
    expect(ran.code).toBe(0);
    for (const option of options) expect(ran.stdout).toContain(option);
  });

  it('documents the exit codes', async () => {
    expect((await dmbridge(['--help'])).stdout).toContain('Exit codes: 0 ok; 1');
  });
});
