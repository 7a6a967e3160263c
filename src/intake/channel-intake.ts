/**
 * One channel's webhook route: the shared intake (./webhook.ts) with the channel module's verification and parser,
 * each event routed to the connection of its account, and only if that connection's secrets include the one that
 * signed (an app may not speak for another app's account).
 */
import type { ChannelModule } from '../core/channel.js';
import type { Clock } from '../core/clock.js';
import type { Connection } from '../core/connection.js';
import type { InboundEvent } from '../core/events.js';
import { inboundBatch } from './inbound-batch.js';
import { inSlices } from './yielding.js';
import { refuse } from './refuse.js';
import { ACCEPT_CHUNK, receiveWebhook, type IntakeDeps, type WebhookSpec } from './webhook.js';

export interface ChannelIntake {
  readonly channel: ChannelModule;
  receive(request: Request): Promise<Response>;
  /** GET on the webhook's path: the platform's subscription handshake, when it has one. */
  handshake?(url: URL): Response;
}

export function createChannelIntake(channel: ChannelModule, connections: readonly Connection[], deps: IntakeDeps & { clock: Clock }): ChannelIntake {
  const { metrics, logger, clock } = deps;
  const route = channel.name;
  const byAccount = new Map(connections.map((c) => [channel.accountId(c), c]));
  const verifier = channel.webhook.verifier(connections);

  /** The connection owning this event's account, if it exists and its secrets include the one that signed. */
  function connectionOf(event: InboundEvent, signer: string): Connection | undefined {
    const connection = byAccount.get(event.accountId);
    if (!connection) {
      metrics.eventsSkipped.inc({ channel: route, reason: 'unknown_account' });
      logger.warn({ channel: route, accountId: event.accountId }, 'webhook event for an account with no connection');
      return undefined;
    }
    if (!channel.webhook.signers(connection).includes(signer)) {
      metrics.eventsSkipped.inc({ channel: route, reason: 'foreign_secret' });
      logger.warn({ connection: connection.id }, "webhook event signed with another connection's secret");
      return undefined;
    }
    return connection;
  }

  const spec: WebhookSpec = {
    route,
    verify: (raw, headers) => verifier(raw, headers, clock()),
    async *batches(body, signer) {
      let routed: Array<{ connectionId: string; event: InboundEvent }> = [];
      for await (const part of inSlices(channel.webhook.split?.(body) ?? [body])) {
        const { events, skipped } = channel.webhook.parse(part, connections);
        for (const s of skipped) {
          metrics.eventsSkipped.inc({ channel: s.channel, reason: s.reason });
          if (s.alert) logger.error({ channel: s.channel, detail: s.detail }, s.alert);
        }
        for (const event of events) {
          const connection = connectionOf(event, signer);
          if (connection) routed.push({ connectionId: connection.id, event });
        }
        if (routed.length >= ACCEPT_CHUNK) {
          yield inboundBatch(routed);
          routed = [];
        }
      }
      yield { ...inboundBatch(routed), emptyOutcome: 'nothing_to_store' };
    },
    acknowledge: () => channel.webhook.acknowledge(),
  };

  const { handshake } = channel.webhook;
  return {
    channel,
    receive: (request) => receiveWebhook(spec, deps, request),
    ...(handshake
      ? {
          handshake(url: URL) {
            const answer = handshake(url.searchParams, connections);
            metrics.webhooks.inc({ route: `${route}_handshake`, outcome: answer.ok ? 'accepted' : 'rejected' });
            if (!answer.ok) return refuse('VERIFY_TOKEN_MISMATCH', answer.message);
            return new Response(answer.body, { status: 200, headers: { 'content-type': 'text/plain' } });
          },
        }
      : {}),
  };
}
