/**
 * GROUP COMMIT, shared by the SQL engines. Every write joins a queue; the queue is written in ONE transaction on
 * the next `setImmediate` (so every call made in the same turn shares it), and each caller gets its own result.
 * One commit is in flight at a time; calls made meanwhile form the next batch, so batches grow with the load and
 * a webhook costs a fraction of a commit. A failed commit rejects every caller in it: nothing of the batch was
 * stored, and the intake answers 503 so the platform delivers again.
 */

/** Writes a batch in one transaction; returns each write's result by position. May be synchronous. */
export type CommitBatch<W> = (writes: W[]) => unknown[] | Promise<unknown[]>;

interface Queued<W> {
  write: W;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

export class GroupCommit<W> {
  private queue: Array<Queued<W>> = [];
  private scheduled = false;
  private inFlight: Promise<void> | undefined;
  private closed = false;

  /**
   * `take` says how many of the `count` queued writes the next batch takes (all by default; at least one), reading
   * them through `writeAt`: the queue is not copied for it, however long it has grown.
   */
  constructor(
    private readonly commit: CommitBatch<W>,
    private readonly take: (count: number, writeAt: (i: number) => W) => number = (count) => count,
  ) {}

  submit<T>(write: W): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, resolve: resolve as (result: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Commits everything queued so far, then refuses new writes. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight || this.queue.length > 0) await (this.inFlight ?? this.flush());
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private flush(): Promise<void> {
    if (this.inFlight || this.queue.length === 0) return this.inFlight ?? Promise.resolve();
    const n = Math.max(1, Math.min(this.queue.length, this.take(this.queue.length, (i) => this.queue[i]!.write)));
    const batch = this.queue.splice(0, n);
    this.inFlight = this.run(batch).finally(() => {
      this.inFlight = undefined;
      this.schedule();
    });
    return this.inFlight;
  }

  private async run(batch: Array<Queued<W>>): Promise<void> {
    let results: unknown[];
    try {
      results = await this.commit(batch.map((q) => q.write));
    } catch (err) {
      for (const q of batch) q.reject(err);
      return;
    }
    batch.forEach((q, i) => q.resolve(results[i]));
  }
}
