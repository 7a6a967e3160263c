/**
 * `dmbridge doctor` for a TikTok Shop connection: the access token is accepted and the configured shop is among the
 * shops it may act for; what the bridge knows of the tokens' expiry; and where the shop's chat notifications go.
 * Refreshes nothing (a refresh may rotate the refresh token, tiktok-shop.md key fact 5, and a doctor run against
 * another store than the bridge's would leave the bridge with a dead one); it may cache the shop cipher it looks up.
 */
import type { DoctorDeps } from '../../core/channel.js';
import { NO_WEBHOOK_BASE, webhookUrl, type DoctorCheck, type WebhookBase } from '../../core/doctor.js';
import { TikTokShopClient } from './api-client.js';
import { TikTokShopTokens, type AuthorizedShop } from './auth.js';
import type { TikTokShopConnection } from './config.js';
import { TikTokShopTokenError } from './errors.js';

const DAY_MS = 24 * 60 * 60_000;
/** A refresh token this close to its end needs the seller to authorize the app again soon. */
const REFRESH_WARNING_MS = 14 * DAY_MS;
/** The notification of a chat message (tiktok-shop.md §4). */
const CHAT_EVENT = 'NEW_MESSAGE';

export async function tiktokShopDoctor(
  connection: TikTokShopConnection,
  deps: DoctorDeps,
  opts: { webhookPath: string },
): Promise<DoctorCheck[]> {
  const tokens = new TikTokShopTokens({ connection, store: deps.store, clock: deps.clock, logger: deps.logger });
  const status = await tokens.status();
  // The token as it is now: a refused one stays refused here (the running bridge is the one that renews).
  const client = new TikTokShopClient({
    connection,
    tokens: { getAccessToken: async () => status.accessToken, refresh: async () => status.accessToken },
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
  });
  const name = (what: string) => `${connection.id}: TikTok Shop ${what}`;
  const reauthorize = `Have the seller authorize the app again (docs/tiktok-shop-setup.md) and put both new tokens in connections.${connection.id}; the bridge uses them from its next start.`;

  let shops: readonly AuthorizedShop[];
  try {
    shops = await client.authorizedShops();
  } catch (err) {
    const token = err instanceof TikTokShopTokenError;
    const expired = token && status.expiresAt !== undefined && status.expiresAt <= deps.clock();
    if (expired) {
      return [{ name: name('shop is authorized'), ok: true, detail: 'the access token expired; the bridge renews it with the refresh token on its next call' }, expiryCheck(status, deps.clock(), name('token expiry'), reauthorize)];
    }
    return [{ name: name('shop is authorized'), ok: false, detail: (err as Error).message, fix: token ? reauthorize : `Check connections.${connection.id}.appKey, appSecret and apiBaseUrl, and that the bridge can reach the TikTok Shop API.` }];
  }
  const listed = shops.map((s) => ({ id: text(s.id) ?? '?', name: text(s.name), region: text(s.region) }));
  const shop = listed.find((s) => s.id === connection.shopId);
  const checks: DoctorCheck[] = [
    shop
      ? { name: name('shop is authorized'), ok: true, detail: `${shop.name ?? shop.id} (${shop.region ?? 'region not given'})` }
      : {
          name: name('shop is authorized'),
          ok: false,
          detail: listed.length === 0 ? 'the token may act for no shop' : `the token may act for ${listed.map((s) => `${s.id}${s.name ? ` (${s.name})` : ''}`).join(', ')}, not ${connection.shopId}`,
          fix: `Set connections.${connection.id}.shopId to the shop customers write to, or use the tokens its seller authorized.`,
        },
    expiryCheck(status, deps.clock(), name('token expiry'), reauthorize),
  ];
  if (shop) checks.push(await webhookCheck(connection, client, deps.webhookBase, opts.webhookPath, name('chat notifications reach the bridge')));
  return checks;
}

function expiryCheck(
  status: { expiresAt?: number; refreshExpiresAt?: number; reauthorizationRequired: boolean },
  now: number,
  name: string,
  reauthorize: string,
): DoctorCheck {
  if (status.reauthorizationRequired) return { name, ok: false, detail: 'TikTok Shop refused to renew the tokens: the bridge stopped sending', fix: reauthorize };
  const access = status.expiresAt === undefined ? 'not known yet (learnt at the first renewal)' : `${iso(status.expiresAt)}, renewed a day before`;
  if (status.refreshExpiresAt === undefined) return { name, ok: true, detail: `access token: ${access}; refresh token: not known yet` };
  const left = status.refreshExpiresAt - now;
  const refresh = `${iso(status.refreshExpiresAt)} (${Math.max(0, Math.floor(left / DAY_MS))} days)`;
  if (left < REFRESH_WARNING_MS) return { name, ok: false, detail: `the refresh token ends ${refresh}; after that nothing can be sent`, fix: reauthorize };
  return { name, ok: true, detail: `access token: ${access}; refresh token: ${refresh}` };
}

/**
 * A shop's own NEW_MESSAGE address wins over the app's Partner Center URL (tiktok-shop.md §4), which no API shows:
 * a shop address elsewhere is a failure; none at all leaves the app's URL, which the operator must check by hand.
 */
async function webhookCheck(connection: TikTokShopConnection, client: TikTokShopClient, webhookBase: WebhookBase | undefined, path: string, name: string): Promise<DoctorCheck> {
  if (webhookBase === undefined) {
    return { name, ok: false, detail: `${NO_WEBHOOK_BASE}, so the bridge cannot tell its own webhook URL`, fix: 'Set server.publicUrl to the HTTPS address TikTok Shop reaches the bridge at.' };
  }
  const expected = webhookUrl(webhookBase, path);
  let webhooks: Array<{ eventType: string; address: string }>;
  try {
    webhooks = await client.shopWebhooks();
  } catch (err) {
    return { name, ok: false, detail: (err as Error).message, fix: 'Give the app the Event (webhook) scope in Partner Center and authorize the seller again.' };
  }
  const address = webhooks.find((w) => w.eventType === CHAT_EVENT)?.address;
  if (address === undefined) {
    return { name, ok: true, detail: `the shop has no address of its own, so the app's Partner Center URL applies (no API shows it): it must be ${expected}` };
  }
  if (address === expected) return { name, ok: true, detail: `${expected} (the shop's own address)` };
  return {
    name,
    ok: false,
    detail: `the shop's ${CHAT_EVENT} notifications go to ${address}`,
    fix: `Point them at ${expected}: PUT /event/202309/webhooks {"event_type":"${CHAT_EVENT}","address":"${expected}"} for shop ${connection.shopId} (docs/tiktok-shop-setup.md).`,
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
