/**
 * `dmbridge genesys setup`: creates (or updates) a connection's Open Messaging integration through the Genesys
 * Platform API — its name, the bridge's outbound webhook URL and a new signature secret —, waits until Genesys
 * reports it active, and prints exactly what to put in the configuration. The connection may have no `genesys`
 * binding yet.
 */
import { loadConfig, webhookBaseOf } from '../config/index.js';
import { GenesysTokenProvider } from '../genesys/auth.js';
import { GenesysPlatformApi } from '../genesys/platform-api.js';
import { setUpGenesysIntegration } from '../genesys/setup.js';
import { createLogger } from '../logger.js';
import { UsageError, configFile, print } from './cli-common.js';

/** Stands in for a binding that does not exist yet, so the rest of the configuration can be validated. */
const NOT_SET_UP = { integrationId: 'not-set-up-yet', webhookSecret: 'not-set-up-yet-0000' };

export interface SetupOptions {
  config?: string;
  connection: string;
  name?: string;
  keepSecret?: boolean;
  timeout: string;
}

export async function genesysSetup(opts: SetupOptions): Promise<number> {
  let bindingGiven = true;
  const config = loadConfig(configFile(opts), process.env, undefined, (raw) => {
    const connections = (raw as { connections?: Array<Record<string, unknown>> } | null)?.connections;
    const target = Array.isArray(connections) ? connections.find((c) => c?.id === opts.connection) : undefined;
    if (target && target.genesys === undefined) {
      bindingGiven = false;
      target.genesys = NOT_SET_UP;
    }
  });
  const connection = config.connections.find((c) => c.id === opts.connection);
  if (!connection) throw new UsageError(`no connection "${opts.connection}" in the configuration (its connections: ${config.connections.map((c) => c.id).join(', ')})`);
  const webhookBase = webhookBaseOf(config.server);
  if (!webhookBase) throw new UsageError('server.publicUrl (or server.webhookBaseUrl) must be set: the integration sends agent replies to it');
  if (opts.keepSecret && !bindingGiven) throw new UsageError('--keep-secret needs the connection to have a genesys.webhookSecret');
  const seconds = Number(opts.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError('--timeout takes a number of seconds');

  const logger = createLogger('warn', process.stderr);
  const tokens = new GenesysTokenProvider({ config: config.genesys, logger });
  const api = new GenesysPlatformApi({ config: config.genesys, tokens, logger });
  const result = await setUpGenesysIntegration(api, {
    connectionId: connection.id,
    webhookBase,
    ...(bindingGiven ? { integrationId: connection.genesys.integrationId } : {}),
    ...(opts.name ? { name: opts.name } : {}),
    ...(opts.keepSecret ? { webhookSecret: connection.genesys.webhookSecret } : {}),
    timeoutMs: seconds * 1000,
    onProgress: (line) => process.stderr.write(`${line}\n`),
  });
  const variable = `GENESYS_${connection.id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_WEBHOOK_SECRET`;
  print(`Genesys integration "${result.name}" ${result.action} (id ${result.integrationId}), ${result.status ?? 'active'}.`);
  print(`Its outbound notification webhook: ${result.webhookUrl}`);
  print('');
  print(`Put this in connection "${connection.id}" of ${configFile(opts)}:`);
  print('    genesys:');
  print(`      integrationId: "${result.config.genesys.integrationId}"`);
  print(`      webhookSecret: \${${variable}}`);
  print(opts.keepSecret ? `and keep ${variable} as it is (the secret did not change).` : `and set in the bridge's environment (keep it out of the file):`);
  if (!opts.keepSecret) print(`    ${variable}=${result.config.genesys.webhookSecret}`);
  return 0;
}
