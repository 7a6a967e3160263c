/** Rules across sections and connections, checked once the schema holds; each problem names its key. */
import type { ChannelModule } from '../core/channel.js';
import type { Connection } from '../core/connection.js';
import { downloadsAllowHosts } from '../genesys/attachments.js';
import { isLoopbackHost } from '../net/address-policy.js';
import { parseAllowedOrigins } from '../net/allowed-origins.js';

export function configProblems(
  config: {
    server: { publicUrl?: string | undefined; webhookBaseUrl?: string | undefined };
    dedupeRetentionDays: number;
    genesys: { downloadsBaseUrl: string };
    media: { allowedOrigins: readonly string[] };
    connections: ReadonlyArray<Connection & Record<string, unknown>>;
  },
  channels: readonly ChannelModule[],
): string[] {
  const problems: string[] = [];
  // An HTTPS host on 443 is allowed as the downloads host; any other origin only as the operator lists it exactly.
  const downloads = new URL(config.genesys.downloadsBaseUrl).origin;
  if (downloadsAllowHosts(downloads).length === 0 && !parseAllowedOrigins(config.media.allowedOrigins).origins.has(downloads)) {
    problems.push(`genesys.downloadsBaseUrl: ${downloads} is fetched only when media.allowedOrigins lists it exactly (add "${downloads}")`);
  }
  // The platforms and Genesys call webhooks over HTTPS only; plain HTTP is for a bridge reached on this machine.
  for (const key of ['publicUrl', 'webhookBaseUrl'] as const) {
    const value = config.server[key];
    if (!value) continue;
    const url = new URL(value);
    if (url.protocol !== 'https:' && !isLoopbackHost(url.hostname)) problems.push(`server.${key}: must be https:// (plain http only on loopback, not ${url.host})`);
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
  return [...problems, ...dedupeRetentionProblems(config, channels)];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Dedupe keys must outlive every platform's redelivery horizon: a retry after they were purged would be forwarded twice. */
function dedupeRetentionProblems(
  config: { dedupeRetentionDays: number; connections: ReadonlyArray<Connection & Record<string, unknown>> },
  channels: readonly ChannelModule[],
): string[] {
  return config.connections.flatMap((connection) => {
    const horizonMs = channels.find((c) => c.name === connection.channel)?.redeliveryHorizonMs?.(connection);
    if (horizonMs === undefined || horizonMs <= config.dedupeRetentionDays * DAY_MS) return [];
    const days = Math.ceil(horizonMs / DAY_MS);
    return [`dedupeRetentionDays: must be at least ${days} days: connection "${connection.id}" accepts deliveries signed up to ${Math.round(horizonMs / 3_600_000)} hours ago`];
  });
}
