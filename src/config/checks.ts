/** Rules across sections and connections, checked once the schema holds; each problem names its key. */
import type { ChannelModule } from '../core/channel.js';
import type { Connection } from '../core/connection.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function configProblems(
  config: { server: { publicUrl?: string | undefined }; connections: ReadonlyArray<Connection & Record<string, unknown>> },
  channels: readonly ChannelModule[],
): string[] {
  const problems: string[] = [];
  const { publicUrl } = config.server;
  // The platforms and Genesys call webhooks over HTTPS only; plain HTTP is for a bridge reached on this machine.
  if (publicUrl) {
    const url = new URL(publicUrl);
    if (url.protocol !== 'https:' && !LOOPBACK_HOSTS.has(url.hostname)) problems.push(`server.publicUrl: must be https:// (plain http only on loopback, not ${url.host})`);
  }
  const accounts = new Map<string, string>();
  const integrations = new Map<string, string>();
  config.connections.forEach((connection, i) => {
    const channel = channels.find((c) => c.name === connection.channel);
    const account = channel ? `${channel.name}:${channel.accountId(connection)}` : undefined;
    const sameAccount = account === undefined ? undefined : accounts.get(account);
    // Deliveries are routed by account: a second connection of the same account would never receive any.
    if (sameAccount !== undefined) problems.push(`connections[${i}]: its ${channel!.labels.platform} account is already the account of connection "${sameAccount}"`);
    if (account !== undefined && sameAccount === undefined) accounts.set(account, connection.id);
    // Agent replies are routed by the integration's webhook URL: one integration cannot serve two connections.
    const sameIntegration = integrations.get(connection.genesys.integrationId);
    if (sameIntegration !== undefined) problems.push(`connections[${i}].genesys.integrationId: is already the integration of connection "${sameIntegration}"`);
    else integrations.set(connection.genesys.integrationId, connection.id);
  });
  for (const channel of channels) {
    problems.push(...(channel.configProblems?.(config.connections.filter((c) => c.channel === channel.name), config.server) ?? []));
  }
  return problems;
}
