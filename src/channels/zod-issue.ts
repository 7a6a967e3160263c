import type { z } from 'zod';

/**
 * Why a webhook item failed its schema, for a `skipped` entry and the logs: the first issue's path and message.
 * Zod messages name types, never values, so no message text reaches the logs.
 */
export function describeIssue(where: string, error: z.ZodError): string {
  const issue = error.issues[0];
  const path = issue?.path.length ? `.${issue.path.join('.')}` : '';
  return `${where}${path}: ${issue?.message ?? 'invalid'}`;
}
