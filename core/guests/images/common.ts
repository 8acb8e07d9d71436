// What every built-in image does at boot, as a small real guest would: take its RM link from the devicetree facts,
// report os_status BOOT, set itself up, report RUN (VM_SET_STATUS, spec §9.4-§9.5), then serve from its interrupt
// loop. An RM call that fails at boot is a guest crash: the program throws and the vCPU faults, visibly.
import { PAGE_SIZE } from '../../abi/memory.js';
import { OS_STATUS } from '../../abi/rm.js';
import { VMID } from '../../abi/vmid.js';
import type { GuestCpu } from '../../guest/guest-cpu.js';
import type { HypResource, RmCalls } from '../../hlos/rm-calls.js';
import { RmFailure } from '../../hlos/rm-failure.js';
import { guestRmCalls } from '../guest-rm.js';
import type { ImageContext } from '../image-types.js';
import { GuestRuntime } from '../runtime.js';

/** The image's pages: 0 the header, 1 the RM link buffers, 2 onwards the image's own buffers. */
export const IMAGE_PAGE = { HEADER: 0, RM_BUFFERS: 1, SCRATCH: 2 } as const;

export interface Guest {
  readonly cpu: GuestCpu;
  readonly rt: GuestRuntime;
  readonly rm: RmCalls;
  /** The VM's own VMID (VM_GET_VMID). */
  readonly vmid: number;
  /** IPA of the image's scratch pages. */
  readonly scratchIpa: number;
  /** Resources the RM reports for the VM itself (VM_GET_HYP_RESOURCES, vmid 0). */
  readonly resources: readonly HypResource[];
  /** Write text to the VM's own console (opened at boot). */
  print(text: string): Promise<void | RmFailure>;
}

/** The value of an RM call made at boot, or a crash naming the call. */
export function must<T>(r: T | RmFailure): T {
  if (r instanceof RmFailure) throw new Error(`guest RM call failed: ${r.message}`);
  return r;
}

export interface ImageBody {
  /** Runs between os_status BOOT and RUN. */
  setup?(g: Guest): Promise<void>;
  /** Runs once the VM reports RUN; most images serve forever. */
  serve(g: Guest): Promise<void>;
}

export async function runImage(cpu: GuestCpu, ctx: ImageContext<unknown>, body: ImageBody): Promise<void> {
  const rt = new GuestRuntime(cpu);
  const rm = guestRmCalls(rt, ctx.link, ctx.imageIpa + IMAGE_PAGE.RM_BUFFERS * PAGE_SIZE);
  await rt.run(async () => {
    must(await rm.vmSetStatus(OS_STATUS.BOOT));
    const vmid = must(await rm.vmGetVmid());
    must(await rm.consoleOpen(VMID.SELF));
    const resources = must(await rm.vmGetHypResources(VMID.SELF));
    const encoder = new TextEncoder();
    const g: Guest = {
      cpu, rt, rm, vmid, resources, scratchIpa: ctx.imageIpa + IMAGE_PAGE.SCRATCH * PAGE_SIZE,
      print: async (text) => {
        const r = await rm.consoleWrite(VMID.SELF, encoder.encode(text));
        return r instanceof RmFailure ? r : undefined;
      },
    };
    await body.setup?.(g);
    must(await rm.vmSetStatus(OS_STATUS.RUN));
    await body.serve(g);
  });
}

/** The first resource of a type the RM gave the VM (spec §9.6), if any. */
export const resourceOf = (g: Guest, type: number): HypResource | undefined => g.resources.find((r) => r.type === type);
