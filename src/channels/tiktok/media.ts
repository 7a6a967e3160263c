/**
 * TikTok media for Genesys: the parser names an image or video by a reference (the bytes need the business's token
 * in an `x-user` header, which Genesys cannot send); the bridge's /media route asks TikTok for a download URL and
 * streams it (https://business-api.tiktok.com/portal/docs?id=1832184403754242, media download).
 */
import { z } from 'zod';
import type { MediaSource } from '../../core/channel.js';
import type { TikTokClient } from './api-client.js';

const referenceSchema = z.object({
  platform: z.literal('tiktok'),
  conversationId: z.string().min(1),
  messageId: z.string().min(1),
  mediaId: z.string().min(1),
  mediaType: z.enum(['IMAGE', 'VIDEO']),
});

export type TikTokMediaReference = z.output<typeof referenceSchema>;

export function tiktokMediaSource(client: TikTokClient): MediaSource {
  return async (reference) => {
    const parsed = referenceSchema.safeParse(reference);
    if (!parsed.success) throw new Error('not a TikTok media reference');
    return client.fetchMedia(await client.mediaDownloadUrl(parsed.data));
  };
}
