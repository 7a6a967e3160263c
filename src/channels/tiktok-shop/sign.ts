/**
 * TikTok Shop Open API request signing (tiktok-shop.md key fact 4, §2; https://partner.tiktokshop.com/docv2/page/678e3a3d4ddec3030b238faf):
 *
 *   sign = hex(HMAC-SHA256(key = app_secret, app_secret + path + Σ sorted(key + value) + body + app_secret))
 *
 * over every query parameter except `sign` and `access_token`, keys in byte order, raw values (URL-encoded only in
 * the URL), the path without host or query, and the exact body bytes sent — none for GET and multipart. Empty
 * parameters are left out of both the URL and the signature. Pure.
 */
import { createHmac } from 'node:crypto';

/** Never part of the signature (§2 step 1). */
const UNSIGNED = new Set(['sign', 'access_token']);

export interface SignInput {
  appSecret: string;
  /** `/customer_service/202309/conversations/…/messages`: no host, no query. */
  path: string;
  /** The query parameters as they will be sent (`app_key`, `timestamp`, `shop_cipher` …). */
  query: Readonly<Record<string, string | undefined>>;
  /** The exact bytes of a JSON body; undefined for GET and multipart uploads. */
  body?: string | Uint8Array;
}

/** The string that is HMAC'd, exposed so tests can compare it with the reference's worked vectors. */
export function tiktokShopStringToSign(input: SignInput): string {
  const params = signedParams(input.query)
    .map(([key, value]) => `${key}${value}`)
    .join('');
  const body = input.body === undefined ? '' : typeof input.body === 'string' ? input.body : Buffer.from(input.body).toString('utf8');
  return `${input.appSecret}${input.path}${params}${body}${input.appSecret}`;
}

/** The lowercase hex `sign` value. Throws on an empty secret: an unsigned request would only earn 106001. */
export function signTikTokShopRequest(input: SignInput): string {
  if (input.appSecret === '') throw new Error('TikTok Shop request signing needs a non-empty app secret');
  const hmac = createHmac('sha256', input.appSecret).update(`${input.appSecret}${input.path}`, 'utf8');
  for (const [key, value] of signedParams(input.query)) hmac.update(`${key}${value}`, 'utf8');
  if (input.body !== undefined) hmac.update(input.body);
  return hmac.update(input.appSecret, 'utf8').digest('hex');
}

/**
 * The full URL: base + path + the non-empty parameters (sorted, URL-encoded) + `sign`. The body given must be the
 * very bytes that will be sent.
 */
export function signedTikTokShopUrl(baseUrl: string, input: SignInput): string {
  const url = new URL(`${baseUrl.replace(/\/+$/, '')}${input.path}`);
  for (const [key, value] of signedParams(input.query)) url.searchParams.set(key, value);
  url.searchParams.set('sign', signTikTokShopRequest(input));
  return url.toString();
}

/** Non-empty, signable parameters in byte order of their keys. */
function signedParams(query: Readonly<Record<string, string | undefined>>): Array<[string, string]> {
  return Object.entries(query)
    .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '' && !UNSIGNED.has(entry[0]))
    .sort(([a], [b]) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}
