/**
 * Structured logs (pino), one event per line with a stable `msg`. Tokens, secrets, signatures and message
 * text are redacted: message text may be logged only at debug level, under the `text` key, by the caller.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths pino censors wherever they appear (one level of nesting covered by the `*.` forms). */
export const REDACT_PATHS = [
  'accessToken', '*.accessToken',
  'access_token', '*.access_token',
  'appSecret', '*.appSecret',
  'clientSecret', '*.clientSecret',
  'webhookSecret', '*.webhookSecret',
  'verifyToken', '*.verifyToken',
  'authorization', '*.authorization', 'headers.authorization',
  'signature', '*.signature',
  'headers["x-hub-signature-256"]',
  'text', '*.text',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { service: 'dmbridge' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    destination ?? process.stdout,
  );
}

/** For tests and tools that want no output. */
export const silentLogger: Logger = pino({ level: 'silent' });
