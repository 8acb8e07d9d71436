// What a built-in guest image is: a name, a parameter check and the program its vCPU 0 runs. The loader
// (loader.ts) looks images up by the name in their header.
import type { GuestProgram } from '../guest/guest-cpu.js';
import type { RmLinkInfo } from '../rm/port.js';
import type { ImageHeader, ImageParams } from './image-header.js';

/** What the loader hands an image's program: facts a real guest reads from its devicetree and load address. */
export interface ImageContext<P> {
  readonly header: ImageHeader;
  /** The image's parameters, checked by its definition. */
  readonly params: P;
  /** The VM's RM link (spec §4.5). */
  readonly link: RmLinkInfo;
  /** Where the image starts in the VM's memory: page 0 holds the header, the pages after it are the image's. */
  readonly imageIpa: number;
  /** Bytes of the image the loader was given (at least the pages the images use). */
  readonly imageSize: number;
}

export interface ImageDefinition<P = unknown> {
  readonly name: string;
  /** One line for listings and documentation. */
  readonly description: string;
  /** The parameters from the header's JSON block, or a sentence naming the bad key. Unknown keys are refused. */
  params(raw: ImageParams): P | { readonly error: string };
  program(ctx: ImageContext<P>): GuestProgram;
}

/** The parameters of an image that takes none. */
export type NoParams = Record<string, never>;

/** A parameter reader: each key typed, bounded and defaulted; unknown keys refused. */
export function readParams<P extends Record<string, number | boolean>>(
  raw: ImageParams,
  spec: { readonly [K in keyof P]: { readonly default: P[K]; readonly min?: number; readonly max?: number } },
): P | { error: string } {
  for (const key of Object.keys(raw)) {
    if (!(key in spec)) return { error: `unknown parameter "${key}" (known: ${Object.keys(spec).join(', ') || 'none'})` };
  }
  const out: Record<string, number | boolean> = {};
  for (const [key, rule] of Object.entries(spec) as [string, { default: number | boolean; min?: number; max?: number }][]) {
    const value = raw[key] ?? rule.default;
    if (typeof value !== typeof rule.default) return { error: `parameter "${key}" must be a ${typeof rule.default}` };
    if (typeof value === 'number' && (!Number.isFinite(value) || value < (rule.min ?? -Infinity) || value > (rule.max ?? Infinity))) {
      return { error: `parameter "${key}" must be from ${rule.min} to ${rule.max}` };
    }
    out[key] = value as number | boolean;
  }
  return out as P;
}
