/** `dmbridge config check`: validates a configuration and prints what it sets up, never a secret. */
import { CHANNELS } from '../channels/index.js';
import { webhookBaseOf, type Config } from '../config/index.js';
import type { ChannelModule } from '../core/channel.js';
import { NO_WEBHOOK_BASE, webhookUrl } from '../core/doctor.js';
import { maskUrl } from './cli-common.js';

export function describeConfig(file: string, config: Config, channels: readonly ChannelModule[] = CHANNELS): string[] {
  const moduleOf = (name: string) => channels.find((c) => c.name === name);
  const lines = [
    `${file}: valid`,
    `  listen   http://${config.server.host}:${config.server.port}`,
    `  store    ${maskUrl(config.store)}`,
    `  genesys  ${config.genesys.apiBaseUrl} (client ${config.genesys.clientId})`,
    ...config.connections.map((c) => `  connection ${c.id}: ${c.channel} account ${moduleOf(c.channel)?.accountId(c) ?? '?'} → integration ${c.genesys.integrationId}`),
    '',
    ...webhookUrls(config, channels),
  ];
  return lines;
}

/** Where each platform and each Genesys integration must send its webhooks (the base `genesys setup` registers). */
function webhookUrls(config: Config, channels: readonly ChannelModule[]): string[] {
  const base = webhookBaseOf(config.server);
  if (!base) return [`Webhook URLs: ${NO_WEBHOOK_BASE}; set server.publicUrl (the bridge's public https URL) to have them printed here.`];
  const used = channels.filter((channel) => config.connections.some((c) => c.channel === channel.name));
  return [
    'Webhook URLs to paste:',
    ...used.map((channel) => `  ${channel.labels.platform}: ${webhookUrl(base, channel.webhook.path)}`),
    ...config.connections.map(
      (c) => `  Genesys integration ${c.genesys.integrationId} (connection ${c.id}), outbound notification webhook: ${webhookUrl(base, `/webhooks/genesys/${encodeURIComponent(c.id)}`)}`,
    ),
  ];
}
