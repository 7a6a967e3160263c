/**
 * A connection: one social account bound to one Genesys Open Messaging integration (design.md, Identity and
 * routing). Every channel's connection schema starts from these parts, so the rest of the bridge can rely on
 * `id`, `channel` and `genesys` whatever the platform.
 */
import { z } from 'zod';

export const nonEmpty = z.string().trim().min(1, 'must not be empty');

export const connectionId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, dot, dash or underscore');

/** Genesys outbound signature secrets must be longer than 15 characters (genesys-open-messaging.md §4). */
export const genesysBinding = z.strictObject({
  integrationId: nonEmpty,
  webhookSecret: z.string().min(16, 'must be at least 16 characters (Genesys requires more than 15)'),
});

export type GenesysBinding = z.output<typeof genesysBinding>;

/** What the channel-neutral code may read of any connection. */
export interface Connection {
  id: string;
  /** The channel module's name (src/channels/index.ts). */
  channel: string;
  genesys: GenesysBinding;
  /** Show the agent what the brand sent from the platform's own app (echoes not sent through dmbridge). */
  forwardAppReplies?: boolean;
}
