// Waiting for a vIRQ source to assert, without polling: how a blocking receive sleeps until the message queue's
// receive vIRQ fires (spec §4.3: when the count reaches notempty_thd, or on a push).
//
// The core offers no listener on a VirqSource yet, so the first waiter on a source wraps that one instance's
// `assert` and the last one to leave removes the wrapper: sources nobody waits on keep the plain prototype method
// and the hot path is untouched.
import type { VirqSource } from '../core/vm/vic.js';

const waiters = new WeakMap<VirqSource, Set<() => void>>();

/** Call `fn` after each assert of `source` until the returned function is called. */
export function onAssert(source: VirqSource, fn: () => void): () => void {
  let set = waiters.get(source);
  if (set === undefined) {
    const listeners = (set = new Set());
    const plain = Object.getPrototypeOf(source).assert as VirqSource['assert'];
    source.assert = function (this: VirqSource, edgeOnly?: boolean) {
      plain.call(this, edgeOnly);
      for (const listener of [...listeners]) listener();
    };
    waiters.set(source, listeners);
  }
  const listeners = set;
  listeners.add(fn);
  return () => {
    if (!listeners.delete(fn) || listeners.size > 0) return;
    Reflect.deleteProperty(source, 'assert');
    waiters.delete(source);
  };
}

/** Sources someone waits on right now (tests assert that nothing is left behind). */
export const waitedOn = (source: VirqSource): number => waiters.get(source)?.size ?? 0;

/**
 * Resolve true at the next assert of `source`, false after `timeoutMs` or when `signal` aborts (the client went
 * away). Leaves no listener or timer behind either way.
 */
export function waitForAssert(source: VirqSource, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const finish = (asserted: boolean) => {
      clearTimeout(timer);
      off();
      signal?.removeEventListener('abort', aborted);
      resolve(asserted);
    };
    const aborted = () => finish(false);
    const off = onAssert(source, () => finish(true));
    const timer = setTimeout(finish, timeoutMs, false);
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
