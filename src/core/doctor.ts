/** One result of `dmbridge doctor`: every online check of a connection, the store or Genesys gives these. */
export interface DoctorCheck {
  /** What was checked, e.g. `acme-support: Genesys integration is active`. */
  name: string;
  ok: boolean;
  /** What the check found; never a secret. */
  detail: string;
  /** Present when `ok` is false: one sentence saying what to change. */
  fix?: string;
}

/**
 * Where the platforms and Genesys reach the bridge's webhook routes, and the configuration key that says so (for
 * messages): `server.webhookBaseUrl`, else `server.publicUrl`. What `genesys setup` registers and doctor compares.
 */
export interface WebhookBase {
  url: string;
  key: 'server.webhookBaseUrl' | 'server.publicUrl';
}

/** What a check says when the configuration gives no webhook base. */
export const NO_WEBHOOK_BASE = 'neither server.webhookBaseUrl nor server.publicUrl is set';

/** `base`'s URL followed by a route path (a channel's webhook route). */
export function webhookUrl(base: WebhookBase, path: string): string {
  return `${base.url.replace(/\/+$/, '')}${path}`;
}

/** What a doctor check reads of a stored platform token: never the refresh token itself. */
export interface TokenStatus {
  accessToken: string;
  /** Epoch ms; absent while the bridge has not learnt it (a token seeded from the configuration). */
  expiresAt?: number;
  refreshExpiresAt?: number;
  reauthorizationRequired: boolean;
}

export function tokenStatus(record: { accessToken: string; expiresAt?: number; refreshExpiresAt?: number; reauthorizationRequired?: boolean }): TokenStatus {
  const { accessToken, expiresAt, refreshExpiresAt, reauthorizationRequired } = record;
  return {
    accessToken,
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    ...(refreshExpiresAt !== undefined ? { refreshExpiresAt } : {}),
    reauthorizationRequired: reauthorizationRequired === true,
  };
}
