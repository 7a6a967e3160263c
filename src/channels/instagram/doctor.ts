/**
 * `dmbridge doctor` for an Instagram connection: the token works and belongs to the configured account, what the
 * bridge knows of its expiry, and Meta sends the webhook fields the bridge reads. Renews nothing and subscribes
 * nothing: it reports, with the fix, and the operator decides.
 */
import type { DoctorDeps } from '../../core/channel.js';
import type { DoctorCheck } from '../../core/doctor.js';
import { PermanentError } from '../../core/errors.js';
import { InstagramTokens } from './auth.js';
import { instagramLogin, type InstagramConnection } from './config.js';
import { GraphClient } from './graph-client.js';

const DAY_MS = 24 * 60 * 60_000;
/** The bridge renews an Instagram Login token from half its life; under this much left, something stopped it. */
const EXPIRY_WARNING_MS = 7 * DAY_MS;

/**
 * The webhook fields whose events the bridge turns into messages for the agent (instagram-messaging.md §1,
 * "Subscribable fields"): the messages themselves, read receipts, reactions and button taps. With Instagram Login
 * the brand's own replies come in `message_echoes`, needed only when they are forwarded; with Facebook Login they
 * are part of `messages`.
 */
function neededFields(connection: InstagramConnection): string[] {
  const fields = ['messages', 'messaging_seen', 'message_reactions', 'messaging_postbacks'];
  if (instagramLogin(connection) === 'instagram' && connection.forwardAppReplies) fields.push('message_echoes');
  return fields;
}

export async function instagramDoctor(connection: InstagramConnection, deps: DoctorDeps): Promise<DoctorCheck[]> {
  const login = instagramLogin(connection);
  const tokens = login === 'instagram' ? new InstagramTokens({ connection, store: deps.store, clock: deps.clock, logger: deps.logger }) : undefined;
  const status = tokens ? await tokens.status() : { accessToken: connection.accessToken, reauthorizationRequired: false };
  // The token as it is now, never renewed here: a renewal is the running bridge's job.
  const graph = new GraphClient({
    connection,
    logger: deps.logger,
    clock: deps.clock,
    tokens: { getAccessToken: async () => status.accessToken, rejected: async () => undefined },
  });
  const name = (what: string) => `${connection.id}: Instagram ${what}`;

  let owner: Awaited<ReturnType<GraphClient['tokenOwner']>>;
  try {
    owner = await graph.tokenOwner();
  } catch (err) {
    return [{ name: name('token is valid'), ok: false, detail: (err as Error).message, fix: tokenFix(connection, err) }];
  }
  const expected = login === 'instagram' ? connection.accountId : connection.pageId;
  const checks: DoctorCheck[] = [
    expected !== undefined && owner.id !== expected
      ? {
          name: name('token is valid'),
          ok: false,
          detail: `the token belongs to ${login === 'instagram' ? 'account' : 'Page'} ${owner.id}${owner.name ? ` (${owner.name})` : ''}, not ${expected}`,
          fix: `Use a token of ${expected}, or set connections.${connection.id}.${login === 'instagram' ? 'accountId' : 'pageId'} to ${owner.id} if that is the account customers write to.`,
        }
      : { name: name('token is valid'), ok: true, detail: `it belongs to ${owner.name ?? owner.id} (${login === 'instagram' ? 'Instagram Login' : 'Facebook Login'})` },
    expiryCheck(connection, status, deps.clock(), name('token expiry')),
  ];
  checks.push(await subscriptionCheck(connection, graph, name('webhook fields are subscribed')));
  return checks;
}

function expiryCheck(
  connection: InstagramConnection,
  status: { expiresAt?: number; reauthorizationRequired: boolean },
  now: number,
  name: string,
): DoctorCheck {
  if (instagramLogin(connection) === 'facebook') {
    return { name, ok: true, detail: 'a Page token made from a long-lived user token does not expire on a timer' };
  }
  if (status.reauthorizationRequired) {
    return { name, ok: false, detail: 'Meta refused to renew the token: the bridge stopped sending', fix: reauthorize(connection) };
  }
  if (status.expiresAt === undefined) {
    return { name, ok: true, detail: 'not known yet: the bridge renews the token on its first send and learns it then (60 days)' };
  }
  const left = status.expiresAt - now;
  const when = `${new Date(status.expiresAt).toISOString()} (${Math.max(0, Math.floor(left / DAY_MS))} days)`;
  if (left < EXPIRY_WARNING_MS) {
    return { name, ok: false, detail: `expires ${when}, and renewing it has not worked`, fix: reauthorize(connection) };
  }
  return { name, ok: true, detail: `expires ${when}; the bridge renews it from half its life` };
}

async function subscriptionCheck(connection: InstagramConnection, graph: GraphClient, name: string): Promise<DoctorCheck> {
  const needed = neededFields(connection);
  let apps: string[][];
  try {
    apps = await graph.subscribedFields();
  } catch (err) {
    return { name, ok: false, detail: (err as Error).message, fix: 'Give the token the permission to manage the account\'s webhooks (docs/meta-app.md, Permissions).' };
  }
  // The answer lists every app installed on the account and does not say which one is ours: the best one counts.
  const missing = apps.map((fields) => needed.filter((f) => !fields.includes(f))).sort((a, b) => a.length - b.length)[0] ?? needed;
  if (missing.length === 0) return { name, ok: true, detail: needed.join(', ') };
  const subject = instagramLogin(connection) === 'instagram' ? connection.accountId : (connection.pageId ?? 'the Page');
  return {
    name,
    ok: false,
    detail: apps.length === 0 ? 'no app is subscribed to this account\'s webhooks' : `not subscribed: ${missing.join(', ')}`,
    fix: `Subscribe the app to ${needed.join(', ')}: in the App Dashboard (Webhooks), then POST /${subject}/subscribed_apps?subscribed_fields=${needed.join(',')} (docs/meta-app.md).`,
  };
}

function tokenFix(connection: InstagramConnection, err: unknown): string {
  if (err instanceof PermanentError && /access token/i.test(err.message)) return reauthorize(connection);
  return 'Check that the bridge can reach the Graph API and that graphBaseUrl and login match the token (docs/meta-app.md).';
}

function reauthorize(connection: InstagramConnection): string {
  return `Generate a new access token (docs/meta-app.md) and put it in connections.${connection.id}.accessToken; the bridge uses it from its next start.`;
}
