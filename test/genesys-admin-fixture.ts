/**
 * A fake Genesys with the Platform API client and token provider pointed at it, as `dmbridge genesys setup` and
 * `dmbridge doctor` build them from the configuration.
 */
import { createServer } from 'node:net';
import { afterEach } from 'vitest';
import { GenesysTokenProvider } from '../src/genesys/auth.js';
import { GenesysPlatformApi } from '../src/genesys/platform-api.js';
import type { Logger } from '../src/logger.js';
import { startFakeGenesys, type FakeGenesys, type FakeGenesysOptions } from '../src/sandbox/fake-genesys/index.js';
import { genesysTestConfig } from './helpers.js';

export const ADMIN = {
  clientId: 'admin-client-id',
  clientSecret: 'admin-client-secret-0123456789',
  publicUrl: 'https://bridge.example.com',
  connectionId: 'acme-instagram',
} as const;

export interface AdminFixture {
  fake: FakeGenesys;
  tokens: GenesysTokenProvider;
  api: GenesysPlatformApi;
  config: ReturnType<typeof genesysTestConfig>;
}

/** `overrides.loginBaseUrl` / `clientSecret` let a test get tokens elsewhere or not at all. */
export async function startAdminFixture(
  opts: Partial<FakeGenesysOptions> = {},
  overrides: { loginBaseUrl?: string; apiBaseUrl?: string; clientSecret?: string; logger?: Logger } = {},
): Promise<AdminFixture> {
  const fake = await startFakeGenesys({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, integrationIds: [], ...opts });
  const config = genesysTestConfig(fake.url, ADMIN.clientId, overrides.clientSecret ?? ADMIN.clientSecret, {
    ...(overrides.loginBaseUrl ? { loginBaseUrl: overrides.loginBaseUrl } : {}),
    ...(overrides.apiBaseUrl ? { apiBaseUrl: overrides.apiBaseUrl } : {}),
  });
  const tokens = new GenesysTokenProvider({ config });
  const api = new GenesysPlatformApi({ config, tokens, ...(overrides.logger ? { logger: overrides.logger } : {}) });
  return { fake, tokens, api, config };
}

/** `startAdminFixture` for the tests of one file: every fixture it started is closed after each test. */
export function useAdminFixtures(): typeof startAdminFixture {
  const open: AdminFixture[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((f) => f.fake.close()));
  });
  return async (...args) => {
    const f = await startAdminFixture(...args);
    open.push(f);
    return f;
  };
}

/** A loopback port nothing listens on: calls to it are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
