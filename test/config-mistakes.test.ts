/**
 * The mistakes an operator makes in a configuration, each caught with a sentence that names the key and, where it
 * can, the fix — before anything runs.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config/index.js';

const BASE = `
server: { publicUrl: https://bridge.example.com }
genesys:
  region: mypurecloud.ie
  clientId: \${GENESYS_CLIENT_ID}
  clientSecret: \${GENESYS_CLIENT_SECRET}
connections:
  - id: acme-instagram
    channel: instagram
    accountId: "17841400000000042"
    appSecret: \${META_APP_SECRET}
    verifyToken: verify-token
    accessToken: \${IG_ACCESS_TOKEN}
    genesys: { integrationId: "0a1b2c3d-1111-4222-8333-944455566677", webhookSecret: \${GENESYS_WEBHOOK_SECRET} }
`;
const ENV = {
  GENESYS_CLIENT_ID: 'client-id',
  GENESYS_CLIENT_SECRET: 'client-secret',
  META_APP_SECRET: 'meta-secret',
  IG_ACCESS_TOKEN: 'token',
  GENESYS_WEBHOOK_SECRET: 'a-secret-longer-than-15',
};

function problemsOf(text: string, env: NodeJS.ProcessEnv = ENV): string[] {
  try {
    parseConfig(text, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message.split('\n').slice(1).map((l) => l.trim());
  }
  throw new Error('expected the configuration to be rejected');
}

const second = `
  - id: acme-instagram-2
    channel: instagram
    accountId: "17841400000000042"
    appSecret: s
    verifyToken: v
    accessToken: t
    genesys: { integrationId: "0a1b2c3d-2222-4222-8333-944455566677", webhookSecret: another-secret-0123 }`;

describe('configuration mistakes', () => {
  it('reports every unset environment variable at once, each with its key', () => {
    const { META_APP_SECRET: _a, IG_ACCESS_TOKEN: _b, ...env } = ENV;
    expect(problemsOf(BASE, env)).toEqual([
      'connections[0].appSecret: environment variable META_APP_SECRET is not set',
      'connections[0].accessToken: environment variable IG_ACCESS_TOKEN is not set',
    ]);
  });

  it('refuses $NAME without braces and an unclosed ${, naming the line; $$ is a literal dollar', () => {
    expect(problemsOf(BASE.replace('verify-token', () => '$VERIFY'))).toEqual(['line 12: $VERIFY is not interpolated: write ${VERIFY} (or $$ for a literal $)']);
    expect(problemsOf(BASE.replace('verify-token', () => '${VERIFY'))[0]).toMatch(/^line 12: an unclosed or invalid \$\{…\}/);
    expect(parseConfig(BASE.replace('verify-token', () => 'pa$$word'), ENV).connections[0]).toMatchObject({ verifyToken: 'pa$word' });
    expect(parseConfig(BASE.replace('verify-token', () => 'verify  # was $OLD_TOKEN'), ENV).connections[0]).toMatchObject({ verifyToken: 'verify' });
  });

  it('wants an https public URL, except on loopback', () => {
    expect(problemsOf(BASE.replace('https://bridge.example.com', 'http://bridge.example.com'))).toEqual([
      'server.publicUrl: must be https:// (plain http only on loopback, not bridge.example.com)',
    ]);
    expect(() => parseConfig(BASE.replace('https://bridge.example.com', 'http://127.0.0.1:8080'), ENV)).not.toThrow();
    const api = (url: string) => BASE.replace('server: { publicUrl: https://bridge.example.com }', `server: { publicUrl: https://bridge.example.com, webhookBaseUrl: ${url} }`);
    expect(problemsOf(api('http://api.example.com'))).toEqual(['server.webhookBaseUrl: must be https:// (plain http only on loopback, not api.example.com)']);
    expect(parseConfig(api('https://api.example.com'), ENV).server.webhookBaseUrl).toBe('https://api.example.com');
  });

  it('knows the Genesys regions', () => {
    expect(problemsOf(BASE.replace('mypurecloud.ie', 'mypurecloud.eu'))[0]).toMatch(
      /^genesys\.region: is not a Genesys Cloud region: use one of mypurecloud\.com, mypurecloud\.ie,/,
    );
  });

  it('refuses two connections of one account, and two connections on one Genesys integration', () => {
    expect(problemsOf(BASE + second)).toEqual(['connections[1]: its Instagram account is already the account of connection "acme-instagram"']);
    const sameIntegration = (BASE + second).replace('"17841400000000042"', '"17841400000000042"').replace('accountId: "17841400000000042"\n    appSecret: s', 'accountId: "17841400000000043"\n    appSecret: s').replace('0a1b2c3d-2222', '0a1b2c3d-1111');
    expect(problemsOf(sameIntegration)).toEqual(['connections[1].genesys.integrationId: is already the integration of connection "acme-instagram"']);
  });

  it('suggests the key a typo meant, at the top level and inside a connection', () => {
    expect(problemsOf(`stroe: sqlite:./x.db\n${BASE}`)).toContain('stroe: unknown key (did you mean "store"?)');
    expect(problemsOf(BASE.replace('accessToken:', 'acessToken:'))).toEqual(
      expect.arrayContaining(['connections[0].acessToken: unknown key (did you mean "accessToken"?)']),
    );
    expect(problemsOf(BASE.replace('clientId:', 'cliendId:'))).toEqual(expect.arrayContaining(['genesys.cliendId: unknown key (did you mean "clientId"?)']));
  });

  it('says what replaced a setting an earlier version read, instead of calling it unknown', () => {
    const upgraded = BASE.replace('    verifyToken: verify-token\n', '    verifyToken: verify-token\n    mediaHosts: [cdn.example.com]\n');
    expect(problemsOf(upgraded)).toEqual(['connections[0].mediaHosts: no longer a setting: list the hosts in media.allowedOrigins instead (docs/configuration.md)']);
  });

  it('says where YAML does not parse without quoting the line, which may hold a secret', () => {
    const message = (() => {
      try {
        parseConfig(`${BASE}\n    extraAppSecrets: ["super-secret-value`, ENV);
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    expect(message).toMatch(/not valid YAML or JSON at line \d+, column \d+/);
    expect(message).not.toContain('super-secret-value');
  });
});
