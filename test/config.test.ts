import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import { configErrorOf, tempDir } from './helpers.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'entry', 'cli.js');
const run = promisify(execFile);

/** The example from the README, verbatim. */
const README_EXAMPLE = `
server: { host: 127.0.0.1, port: 8080, publicUrl: https://bridge.example.com }   # publicUrl optional for now
store: sqlite:./data/dmbridge.db
genesys:
  region: mypurecloud.com          # derives https://login.<region> and https://api.<region>
  clientId: \${GENESYS_CLIENT_ID}
  clientSecret: \${GENESYS_CLIENT_SECRET}
connections:
  - id: acme-instagram
    channel: instagram
    accountId: "17841400000000042"   # entry[].id of the webhooks
    appSecret: \${META_APP_SECRET}     # signs X-Hub-Signature-256
    verifyToken: \${META_VERIFY_TOKEN}
    accessToken: \${IG_ACCESS_TOKEN}
    genesys: { integrationId: "0a1b2c3d-1111-4222-8333-944455566677", webhookSecret: \${GENESYS_WEBHOOK_SECRET} }
`;
const ENV = {
  GENESYS_CLIENT_ID: 'client-id',
  GENESYS_CLIENT_SECRET: 'client-secret',
  META_APP_SECRET: 'meta-secret',
  META_VERIFY_TOKEN: 'verify',
  IG_ACCESS_TOKEN: 'token',
  GENESYS_WEBHOOK_SECRET: 'a-secret-longer-than-15',
};

const errorOf = (text: string, env: NodeJS.ProcessEnv = ENV) => configErrorOf(text, env);

describe('configuration', () => {
  it('accepts the README example and derives the Genesys hosts from the region', () => {
    const config = parseConfig(README_EXAMPLE, ENV);
    expect(config.genesys.loginBaseUrl).toBe('https://login.mypurecloud.com');
    expect(config.genesys.apiBaseUrl).toBe('https://api.mypurecloud.com');
    expect(config.connections[0]).toMatchObject({ appSecret: 'meta-secret', graphBaseUrl: 'https://graph.instagram.com' });
    expect(config.dedupeRetentionDays).toBeGreaterThanOrEqual(7);
  });

  it('accepts the same configuration written as JSON', () => {
    const json = JSON.stringify({
      genesys: { clientId: 'a', clientSecret: 'b', loginBaseUrl: 'http://127.0.0.1:9100/', apiBaseUrl: 'http://127.0.0.1:9100' },
      connections: [{ id: 'x', channel: 'instagram', accountId: '1', appSecret: 's', verifyToken: 'v', accessToken: 't', genesys: { integrationId: 'i', webhookSecret: '0123456789abcdef' } }],
    });
    const config = parseConfig(json, {});
    expect(config.genesys.loginBaseUrl).toBe('http://127.0.0.1:9100');
    expect(config.server.port).toBe(8080);
  });

  it('keeps an environment value exactly as set, even with characters that mean something in YAML', () => {
    const secret = 'p#ss: "w{rd}\' - [x]';
    const config = parseConfig(README_EXAMPLE.replace('port: 8080', 'port: ${PORT}'), { ...ENV, META_APP_SECRET: secret, PORT: '9090' });
    expect(config.connections[0]!.appSecret).toBe(secret);
    expect(config.server.port).toBe(9090);
  });

  it('names the key whose environment variable is not set', () => {
    const { GENESYS_CLIENT_SECRET: _unset, ...env } = ENV;
    expect(errorOf(README_EXAMPLE, env)).toContain('genesys.clientSecret: environment variable GENESYS_CLIENT_SECRET is not set');
  });

  it('names every invalid key with its problem', () => {
    const message = errorOf(README_EXAMPLE.replace('port: 8080', 'port: "eighty"').replace('"17841400000000042"', '"not-a-number"'));
    expect(message).toContain('server.port:');
    expect(message).toContain('connections[0].accountId: must be the numeric Instagram account id');
  });

  it('rejects a Genesys webhook secret of 15 characters or fewer', () => {
    expect(errorOf(README_EXAMPLE, { ...ENV, GENESYS_WEBHOOK_SECRET: 'short' })).toContain(
      'connections[0].genesys.webhookSecret: must be at least 16 characters',
    );
  });

  it('rejects a misspelt key instead of silently using a default', () => {
    expect(errorOf(README_EXAMPLE.replace('store:', 'stroe:'))).toMatch(/stroe/);
  });

  it('rejects two connections with the same id', () => {
    const doubled = README_EXAMPLE + README_EXAMPLE.slice(README_EXAMPLE.indexOf('  - id: acme-instagram'));
    expect(errorOf(doubled)).toContain('connections[1].id: duplicate connection id "acme-instagram"');
  });

  it("derives the Genesys downloads host from the region, and lists no media origin of the operator's by default", () => {
    const config = parseConfig(README_EXAMPLE, ENV);
    expect(config.genesys.downloadsBaseUrl).toBe('https://api-downloads.mypurecloud.com');
    expect(config.media.allowedOrigins).toEqual([]);
  });

  it('takes media origins, hosts and suffixes, and names an entry that is none of these', () => {
    const listed = `${README_EXAMPLE}media: { allowedOrigins: ["https://files.example.com", "http://127.0.0.1:9300", "cdn.example.net", ".s3.amazonaws.com"] }\n`;
    expect(parseConfig(listed, ENV).media.allowedOrigins).toHaveLength(4);
    const wrong = `${README_EXAMPLE}media: { allowedOrigins: ["https://files.example.com/path", "10.0.0.1"] }\n`;
    const message = errorOf(wrong);
    expect(message).toContain('media.allowedOrigins[0]: "https://files.example.com/path" must be an origin alone');
    expect(message).toContain('media.allowedOrigins[1]: "10.0.0.1" is neither an origin');
  });

  it('refuses a Genesys downloads origin that is not HTTPS on 443 unless the operator lists it exactly', () => {
    const local = README_EXAMPLE.replace('  clientId: ${GENESYS_CLIENT_ID}', '  clientId: ${GENESYS_CLIENT_ID}\n  downloadsBaseUrl: http://127.0.0.1:9100/');
    expect(errorOf(local)).toContain('genesys.downloadsBaseUrl: http://127.0.0.1:9100 is fetched only when media.allowedOrigins lists it exactly');
    expect(parseConfig(`${local}media: { allowedOrigins: ["http://127.0.0.1:9100"] }\n`, ENV).genesys.downloadsBaseUrl).toBe('http://127.0.0.1:9100');
  });

  it('rejects YAML that does not parse, saying so', () => {
    expect(errorOf('server: [unclosed')).toContain('not valid YAML or JSON');
  });
});

describe('the dmbridge command', () => {
  it('exits 2 and names the key for an invalid config file', async () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'bad.yaml');
      writeFileSync(file, README_EXAMPLE.replace('region: mypurecloud.com', 'region: "not a region"'));
      const failure = await run(process.execPath, [CLI, 'config', 'check', '--config', file], { env: { ...process.env, ...ENV } }).catch((e: unknown) => e);
      expect((failure as { code: number }).code).toBe(2);
      expect((failure as { stderr: string }).stderr).toContain('genesys.region: must be a region domain');
    } finally {
      dir.cleanup();
    }
  });

  it('validates a good config file and summarises it without printing secrets', async () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'good.yaml');
      writeFileSync(file, README_EXAMPLE);
      const { stdout } = await run(process.execPath, [CLI, 'config', 'check', '--config', file], { env: { ...process.env, ...ENV } });
      expect(stdout).toContain('valid');
      expect(stdout).toContain('connection acme-instagram: instagram account 17841400000000042');
      for (const secret of ['meta-secret', 'client-secret', 'a-secret-longer-than-15', 'token']) expect(stdout).not.toContain(secret);
    } finally {
      dir.cleanup();
    }
  });

  it('explains its usage with --help and refuses an unknown command with exit 2', async () => {
    const { stdout } = await run(process.execPath, [CLI, '--help']);
    expect(stdout).toContain('dmbridge serve [--config FILE]');
    const failure = (await run(process.execPath, [CLI, 'frobnicate']).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain('unknown command "frobnicate"');
  });
});
