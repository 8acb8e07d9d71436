// A booted device for tests (hypervisor, RM with the built-in image loader, HLOS driver), with a tap on the RM
// requests the HLOS sends and helpers to wait for what the HLOS reports.
import { RM_MSG_TYPE, rmMessageName } from '../../core/abi/rm.js';
import { bootDevice, type Device, type DeviceOptions } from '../../core/hlos/device.js';
import type { HlosEvents } from '../../core/hlos/hlos.js';
import { decodeHeader } from '../../core/rm/rpc-codec.js';

export interface TestDevice extends Device {
  /** Names of the RM requests the HLOS sent, in order (first fragments only). */
  readonly requests: string[];
  /** Drop the HLOS's requests with this name from now on (a stalled RM, as the HLOS sees it). */
  stall(name: string): void;
  /** Console output of a VM so far, as text. */
  consoleText(vmid: number): string;
  /** Resolves with the first event of `type` that `match` accepts; rejects after `ms`. */
  next<K extends keyof HlosEvents>(type: K, match: (e: HlosEvents[K]) => boolean, ms?: number): Promise<HlosEvents[K]>;
}

export function testDevice(opts: DeviceOptions = {}): TestDevice {
  const dev = bootDevice({ seed: 7, ...opts });
  const port = dev.system.hlos.port;
  const requests: string[] = [];
  const stalled = new Set<string>();
  const send = port.send.bind(port);
  port.send = (packet, push) => {
    const h = decodeHeader(packet);
    if (typeof h === 'object' && h.type === RM_MSG_TYPE.REQUEST) {
      const name = rmMessageName(h.msgId);
      if (stalled.has(name)) return 0; // accepted, never delivered
      requests.push(name);
    }
    return send(packet, push);
  };
  const output = new Map<number, string>();
  const decoder = new TextDecoder();
  dev.hlos.events.on('console-output', (e) => output.set(e.vmid, (output.get(e.vmid) ?? '') + decoder.decode(e.bytes)));
  return {
    ...dev,
    requests,
    stall: (name) => stalled.add(name),
    consoleText: (vmid) => output.get(vmid) ?? '',
    next(type, match, ms = 2000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`no ${String(type)} event within ${ms} ms`));
        }, ms);
        const off = dev.hlos.events.on(type, (e) => {
          if (!match(e)) return;
          clearTimeout(timer);
          off();
          resolve(e);
        });
      });
    },
  };
}

/** Resolves once `check` holds, testing after each turn of the event loop; rejects after `ms`. */
export async function eventually(check: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`${what} did not hold within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
