/**
 * The sandbox: a bridge wired to local fakes of Genesys and of each channel's platform, with well-known secrets
 * (they protect nothing: everything listens on 127.0.0.1). Each channel's part comes from its module's sandbox
 * facet (src/core/channel.ts, ChannelSandbox). Used by `npm start`.
 */
import type { Config } from '../config/index.js';
import { configSchemaFor } from '../config/index.js';
import type { ChannelModule } from '../core/channel.js';

export const SANDBOX = {
  /** The bridge's port; the console, the fake Genesys and the channels' fakes follow it (`sandboxPorts`). */
  portBase: 8080,
  genesysClientId: 'sandbox-client-id',
  genesysClientSecret: 'sandbox-client-secret',
} as const;

export interface SandboxPortPlan {
  bridge: number;
  console: number;
  genesys: number;
  /** Each channel's fake, in registry order. */
  channels: number[];
  /** The fake Genesys's second origin: the storage its attachments' signed URLs point to. */
  genesysStorage: number;
  /** Every port with what listens there, for messages. */
  all: Array<{ port: number; what: string }>;
}

/**
 * The ports, from one base: the bridge on it, the console on +1, the fake Genesys on +2, then each channel's fake
 * platform (`platforms`, in registry order), then the fake Genesys's attachment storage. Base 0: every server on a
 * free port. Throws a RangeError for a base whose ports do not all fit below 65536.
 */
export function sandboxPorts(base: number, platforms: readonly string[]): SandboxPortPlan {
  const count = 4 + platforms.length;
  if (!Number.isInteger(base) || base < 0 || (base > 0 && (base < 1024 || base + count - 1 > 65_535))) {
    throw new RangeError(`the port base must be 0 (any free ports) or from 1024 to ${65_535 - count + 1}: the sandbox uses ${count} ports from it`);
  }
  const at = (i: number) => (base === 0 ? 0 : base + i);
  const plan = { bridge: at(0), console: at(1), genesys: at(2), channels: platforms.map((_p, i) => at(3 + i)), genesysStorage: at(3 + platforms.length) };
  const all = [
    { port: plan.bridge, what: 'the bridge' },
    { port: plan.console, what: 'the console' },
    { port: plan.genesys, what: 'the fake Genesys' },
    ...platforms.map((p, i) => ({ port: plan.channels[i]!, what: `the fake ${p}` })),
    { port: plan.genesysStorage, what: "the fake Genesys's attachment storage" },
  ];
  return { ...plan, all };
}

/**
 * `mediaOrigins`: the exact origins media may be fetched from, the fakes' (the fake Genesys's downloads and storage,
 * each platform's media) and the console's (the sandbox customer's pictures): all on 127.0.0.1, so fetched only
 * because they are listed.
 */
export function sandboxConfig(
  opts: { bridgePort: number; genesysUrl: string; mediaOrigins: readonly string[]; connections: Array<Record<string, unknown>>; channels: readonly ChannelModule[] },
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
      downloadsBaseUrl: opts.genesysUrl,
    },
    media: { allowedOrigins: [...new Set(opts.mediaOrigins.map((url) => new URL(url).origin))] },
    connections: opts.connections,
  }) as Config;
}
