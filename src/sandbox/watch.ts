/** Polls the fake Genesys's read-only view until a message with this `channel.messageId` arrives. */
export async function waitForSandboxMessage(genesysUrl: string, messageId: string, timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${genesysUrl}/sandbox/messages`, { signal: AbortSignal.timeout(2000) });
      const list = (await res.json()) as Array<{ body: { channel?: { messageId?: string } } }>;
      const hit = list.find((m) => m.body.channel?.messageId === messageId);
      if (hit) return hit.body;
    } catch {
      // The fake may be starting up; keep polling until the deadline.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}
