// The /sys/hypervisor tree of one emulated device: at the root the seed driver's v2 nodes exactly (spec §11), and
// under gunyah/ the v3/v4 nodes and the live state of the emulator, one value per file. Every node renders from
// the core at read time; nothing here keeps a copy. The areas live in fs/nodes/, one file each (lxcfs style);
// Documentation/ABI/testing/sysfs-hypervisor-gunyah documents every node.
//
//   const root = buildSysfsTree(device);          // after bootDevice()
//   await mountSysfs(root, dir);                  // FUSE (fs/mount-lifecycle.ts)
//   readPath(root, 'gunyah/vms/3/name');          // the HTTP mirror (fs/tree.ts)
import { dir, type DirNode } from './tree.js';
import { doorbellsDir } from './nodes/doorbells.js';
import { hypercallsDir } from './nodes/hypercalls.js';
import { probeIdentity, seedRootNodes } from './nodes/identity.js';
import { msgqueuesDir } from './nodes/msgqueues.js';
import { rmDir } from './nodes/rm.js';
import { vmsDir, type SysfsDevice } from './nodes/vms.js';

export type { SysfsDevice } from './nodes/vms.js';

export function buildSysfsTree(device: SysfsDevice): DirNode {
  const seed = seedRootNodes(probeIdentity(device.hyp));
  return dir({
    type: seed.type,
    features: seed.features,
    version: dir({ api: seed.api, variant: seed.variant }),
    gunyah: dir({
      api: seed.api,
      variant: seed.variant,
      features: seed.features,
      vms: vmsDir(device),
      msgqueues: msgqueuesDir(device.hyp),
      doorbells: doorbellsDir(device.hyp),
      rm: rmDir(device.system.rm),
      hypercalls: hypercallsDir(device.hyp),
    }),
  });
}
