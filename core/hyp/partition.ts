// A partition owns the objects created from it (spec §1.3 partition_create_*). The emulator has one root
// partition held by the RM; child partitions can be created but share its (unbounded, host-backed) memory.
import { HypObject } from './object.js';

export class Partition extends HypObject {
  readonly type = 'partition' as const;
}
