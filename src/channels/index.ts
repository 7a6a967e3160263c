/**
 * The registry: the one place that lists the channels. Everything else (configuration, HTTP routes, intake,
 * jobs, sandbox, CLI) loops over it; adding a channel is one module and one line here (docs/adding-a-channel.md).
 */
import type { ChannelModule } from '../core/channel.js';
import { InstagramModule } from './instagram/index.js';
import { TikTokShopModule } from './tiktok-shop/index.js';
import { TikTokModule } from './tiktok/index.js';

export const CHANNELS: readonly ChannelModule[] = [InstagramModule, TikTokModule, TikTokShopModule] as unknown as readonly ChannelModule[];
