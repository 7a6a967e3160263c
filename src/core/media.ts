/**
 * The media ports: the guarded GET every media transfer goes through (net/media-fetch.ts implements it), what a
 * media source streams to GET /media, and the agent's attachments (genesys/attachments.ts implements them). The
 * rules of who may fetch what are in docs/architecture.md, Media.
 */

/** Genesys's attachment cap (genesys-open-messaging.md key fact 8): the most any media transfer carries. */
export const MEDIA_MAX_BYTES = 25 * 1024 * 1024;

export interface MediaHeaders {
  get(name: string): string | null;
}

export interface MediaGet {
  url: string;
  /** Hosts and `.suffix`es this transfer may use besides the operator's list, over HTTPS (net/allowed-origins.ts). */
  allowHosts?: readonly string[];
  /** Sent to every hop; must not hold credentials (see `credential`). */
  headers?: Readonly<Record<string, string>>;
  /** Headers sent only to `origin`, the origin they were issued for (e.g. a platform's token header). */
  credential?: { origin: string; headers: Readonly<Record<string, string>> };
  /** Over the whole transfer: every hop and the body. */
  deadlineMs: number;
  maxBytes: number;
  /** Default 5. */
  maxRedirects?: number;
}

export interface MediaResponse {
  status: number;
  headers: MediaHeaders;
  /** The URL that answered, after redirects. */
  url: string;
  /** The declared Content-Length, when there is one (at most `maxBytes`). */
  contentLength: number | undefined;
  /** The body, at most `maxBytes`, within the deadline; it errors otherwise. */
  body: ReadableStream<Uint8Array>;
  /** The whole body. */
  bytes(): Promise<Uint8Array>;
}

/**
 * A GET that fetches only allowed origins, never a local or private address, sends a credential only to its own
 * origin, and follows redirects checking each hop. Resolves only with a 2xx answer; throws otherwise (net's
 * MediaFetchError, whose message never says what the remote side answered).
 */
export type MediaFetch = (request: MediaGet) => Promise<MediaResponse>;

/** One media item as a source streams it to GET /media: at most MEDIA_MAX_BYTES (the body errors past it). */
export interface MediaStream {
  /** As the origin declared it; GET /media decides whether it may be served. */
  contentType?: string;
  contentLength?: number;
  body: ReadableStream<Uint8Array>;
}

/** A fetched answer as a source streams it: its declared type and length, and its body. */
export function mediaStreamOf(response: MediaResponse): MediaStream {
  const contentType = response.headers.get('content-type') ?? undefined;
  return { ...(contentType ? { contentType } : {}), ...(response.contentLength !== undefined ? { contentLength: response.contentLength } : {}), body: response.body };
}

/**
 * An agent's attachment, as Genesys hands it in an outbound notification: a link to its downloads service, which
 * wants the bridge's Genesys token and redirects to a signed URL (genesys-open-messaging.md key fact 23).
 */
export interface AgentAttachments {
  /**
   * The attachment's bytes, at most `maxBytes`, and the type it was served with. Throws RetryableError or
   * PermanentError whose message is the sentence the agent reads in the Failed receipt (it never says what the
   * remote side answered); a refusal of the URL itself happens before any request is made. Larger than `maxBytes`:
   * PermanentError with reason `InvalidMediaContentLength`.
   */
  download(url: string, opts: { maxBytes: number }): Promise<{ bytes: Uint8Array; mime?: string }>;
  /**
   * A bridge-signed /media URL that streams the attachment, for a platform that fetches media by URL itself.
   * Throws PermanentError (the agent's sentence) when the URL is on no origin the bridge may fetch from.
   */
  link(connectionId: string, url: string): string;
}
