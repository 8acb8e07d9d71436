// Every named schema, registered once at the root so routes share them by $ref and the OpenAPI document lists each
// under its $id in components.schemas.
import { Problem } from './common.js';
import { Capability, Doorbell, Msgqueue } from './resources.js';
import { Vm, VmCreate, VmState } from './vm.js';

export const SHARED_SCHEMAS: readonly { $id: string }[] = [Problem, Capability, Msgqueue, Doorbell, Vm, VmCreate, VmState];
