/** What the channels that upload media need to know of the bytes and the name of a file, and how a form is sent. */

export type SniffedImage = 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp';

/** JPG, PNG, GIF or WebP by magic bytes, whatever the declared type says. */
export function sniffImage(bytes: Uint8Array): SniffedImage | undefined {
  const starts = (sig: number[], at = 0) => bytes.length >= at + sig.length && sig.every((b, i) => bytes[at + i] === b);
  if (starts([0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts([0x47, 0x49, 0x46, 0x38])) return 'image/gif';
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
  return undefined;
}

/** The file name a URL ends with, decoded; '' when there is none. */
export function lastPathSegment(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  } catch {
    return '';
  }
}

/** A form as multipart/form-data bytes and the content type naming their boundary, encoded as fetch would. */
export async function encodeMultipart(form: FormData): Promise<{ contentType: string; body: Uint8Array }> {
  const encoded = new Response(form);
  return { contentType: encoded.headers.get('content-type')!, body: new Uint8Array(await encoded.arrayBuffer()) };
}
