/** Polls one of the fake Genesys's read-only views until an entry matches. */
async function waitForEntry(url: string, matches: (body: Record<string, any>) => boolean, timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const list = (await res.json()) as Array<{ body: Record<string, any> }>;
      const hit = list.find((m) => matches(m.body));
      if (hit) return hit.body;
    } catch {
      // The fake may be starting up; keep polling until the deadline.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/** The message the fake Genesys received with this `channel.messageId` (or matching `matches`). */
export function waitForSandboxMessage(
  genesysUrl: string,
  messageId: string | undefined,
  timeoutMs: number,
  matches: (body: Record<string, any>) => boolean = (b) => b.channel?.messageId === messageId,
): Promise<unknown> {
  return waitForEntry(`${genesysUrl}/sandbox/messages`, matches, timeoutMs);
}

/** The receipt the fake Genesys received for this Genesys message id. */
export function waitForSandboxReceipt(genesysUrl: string, genesysMessageId: string, timeoutMs: number): Promise<unknown> {
  return waitForEntry(`${genesysUrl}/sandbox/receipts`, (b) => b.id === genesysMessageId, timeoutMs);
}
