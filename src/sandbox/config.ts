/**
 * The sandbox: a bridge wired to local fakes of Genesys and of each channel's platform, with well-known secrets
 * (they protect nothing: everything listens on 127.0.0.1). Each channel's part comes from its module's sandbox
 * facet (src/core/channel.ts, ChannelSandbox). Used by `npm start`.
 */
import type { Config } from '../config/index.js';
import { configSchemaFor } from '../config/index.js';
import type { ChannelModule } from '../core/channel.js';

export const SANDBOX = {
  bridgePort: 8080,
  genesysPort: 9100,
  /** The first channel's fake listens here, the next one 100 above, and so on. */
  firstFakePort: 9200,
  genesysClientId: 'sandbox-client-id',
  genesysClientSecret: 'sandbox-client-secret',
} as const;

export function sandboxConfig(
  opts: { bridgePort: number; genesysUrl: string; connections: Array<Record<string, unknown>>; channels: readonly ChannelModule[] },
  store: string,
  logLevel: string,
): Config {
  return configSchemaFor(opts.channels).parse({
    server: { host: '127.0.0.1', port: opts.bridgePort, publicUrl: `http://127.0.0.1:${opts.bridgePort}` },
    store,
    log: { level: logLevel },
    queue: { pollMs: 200 },
    genesys: {
      region: 'mypurecloud.com',
      loginBaseUrl: opts.genesysUrl,
      apiBaseUrl: opts.genesysUrl,
      clientId: SANDBOX.genesysClientId,
      clientSecret: SANDBOX.genesysClientSecret,
    },
    connections: opts.connections,
  }) as Config;
}
