// spec §1.4: every hypervisor object has a type and a lifecycle state; `*_configure` works only in INIT and
// object_activate moves INIT -> ACTIVE once the mandatory configuration is present.
import { GH_ERROR, type GhError } from '../abi/errors.js';
import { OBJECT_STATE, type ObjectState, type ObjectType } from '../abi/objects.js';
import type { Cap } from './cspace.js';

export abstract class HypObject {
  abstract readonly type: ObjectType;
  state: ObjectState = OBJECT_STATE.INIT;
  /** References that keep this object alive: its capabilities, and derived objects (spec §1.4 refcounting). */
  refs = 0;
  /** The capabilities that name this object, in every cspace: who holds it, without scanning every cspace. */
  readonly heldBy = new Set<Cap>();
  /** Set by the hypervisor: unregisters the object once destroyed. */
  onDestroyed: ((object: HypObject) => void) | null = null;

  /** @param id unique per hypervisor; the stable name of the object in sysfs, REST and metric labels. */
  constructor(readonly id: number) {}

  /** OK when configuration calls are allowed (spec §1.4: INIT only). */
  configurable(): GhError {
    return this.state === OBJECT_STATE.INIT ? GH_ERROR.OK : GH_ERROR.OBJECT_STATE;
  }

  /** object_activate: INIT -> ACTIVE, or OBJECT_STATE / OBJECT_CONFIG. */
  activate(): GhError {
    if (this.state !== OBJECT_STATE.INIT) return GH_ERROR.OBJECT_STATE;
    const err = this.onActivate();
    if (err === GH_ERROR.OK) this.state = OBJECT_STATE.ACTIVE;
    return err;
  }

  /** object_reset: back to INIT with the object's own state cleared. */
  reset(): GhError {
    if (this.state === OBJECT_STATE.DESTROYING) return GH_ERROR.OBJECT_STATE;
    this.onReset();
    this.state = OBJECT_STATE.INIT;
    return GH_ERROR.OK;
  }

  /** The last capability went away: the object is destroyed. */
  destroy(): void {
    if (this.state === OBJECT_STATE.DESTROYING) return;
    this.state = OBJECT_STATE.DESTROYING;
    this.onDestroy();
    this.onDestroyed?.(this);
  }

  /** Check mandatory configuration and set up runtime state; OBJECT_CONFIG when something is missing. */
  protected onActivate(): GhError {
    return GH_ERROR.OK;
  }
  protected onReset(): void {}
  protected onDestroy(): void {}
}
