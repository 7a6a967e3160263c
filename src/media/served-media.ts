/**
 * What GET /media may serve and how: the bridge streams platform media from its own origin, so a file that a
 * browser could run there (SVG with scripts, HTML) must never be passed on, and what is passed on must not be
 * sniffed, rendered as a page or given access to the origin. Pure.
 */

/**
 * Raster images, video, audio, PDF and untyped files, each by its registered type
 * (https://www.iana.org/assignments/media-types): what customers send (pictures, videos, voice notes, documents),
 * what agents attach and what Genesys shows. Never `image/svg+xml` (a document that runs scripts), never text or
 * HTML. `application/octet-stream` is a file the origin did not type: with `nosniff` a browser never renders it.
 */
const SERVED_TYPES: ReadonlyMap<string, string> = new Map([
  ['image/jpeg', 'jpg'],
  ['image/png', 'png'],
  ['image/gif', 'gif'],
  ['image/webp', 'webp'],
  ['image/heic', 'heic'],
  ['image/heif', 'heif'],
  ['image/avif', 'avif'],
  ['image/bmp', 'bmp'],
  ['video/mp4', 'mp4'],
  ['video/quicktime', 'mov'],
  ['video/webm', 'webm'],
  ['video/3gpp', '3gp'],
  ['video/mpeg', 'mpeg'],
  ['video/ogg', 'ogv'],
  ['audio/mpeg', 'mp3'],
  ['audio/mp4', 'm4a'],
  ['audio/x-m4a', 'm4a'],
  ['audio/aac', 'aac'],
  ['audio/ogg', 'ogg'],
  ['audio/opus', 'opus'],
  ['audio/wav', 'wav'],
  ['audio/x-wav', 'wav'],
  ['audio/webm', 'weba'],
  ['audio/amr', 'amr'],
  ['audio/3gpp', '3gp'],
  ['application/pdf', 'pdf'],
  ['application/octet-stream', 'bin'],
]);

/** The media type to serve for a `Content-Type` header value (parameters dropped), or undefined when it must not be served. */
export function servableMediaType(contentType: string | null | undefined): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type !== undefined && SERVED_TYPES.has(type) ? type : undefined;
}

/**
 * The response headers of a served media item of `type` (from servableMediaType):
 * - `X-Content-Type-Options: nosniff`: the browser keeps the declared type and never sniffs a page out of the bytes
 *   (https://fetch.spec.whatwg.org/#x-content-type-options-header);
 * - `Content-Security-Policy: sandbox`: opened directly, the response runs no script and gets an opaque origin, so
 *   it cannot act as the bridge (https://www.w3.org/TR/CSP3/#directive-sandbox);
 * - `Content-Disposition: attachment` with a neutral file name: navigating to it downloads rather than renders
 *   (https://www.rfc-editor.org/rfc/rfc6266); images, video and audio embedded by URL still play.
 */
export function servedMediaHeaders(type: string, contentLength?: number): Headers {
  const extension = SERVED_TYPES.get(type);
  if (extension === undefined) throw new TypeError(`${type} is not a media type the bridge serves`);
  const headers = new Headers({
    'content-type': type,
    'x-content-type-options': 'nosniff',
    'content-security-policy': 'sandbox',
    'content-disposition': `attachment; filename="media.${extension}"`,
    'cache-control': 'private, max-age=3600',
  });
  if (contentLength !== undefined && Number.isFinite(contentLength)) headers.set('content-length', String(contentLength));
  return headers;
}
