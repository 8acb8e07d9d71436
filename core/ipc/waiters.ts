// Waiting for a message-queue vIRQ (TX ready, RX pending) without spinning: each waiter is a promise that the next
// interrupt resolves, or its AbortSignal (a timeout, a closed client) resolves early and removes it.

export class VirqWaiters {
  private readonly pending = new Set<() => void>();

  /** Resolves at the next wakeAll(), or when `signal` aborts (at once if it already has). */
  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.pending.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.pending.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** The interrupt fired: resolve every waiter. */
  wakeAll(): void {
    if (this.pending.size === 0) return;
    for (const done of [...this.pending]) done();
  }
}
