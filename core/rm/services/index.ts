// Every RM service by request ID, merged in one visible place. An ID with no service is answered with
// RM_ERROR_UNIMPLEMENTED (spec §9.2), as R-MAIN msg_callback does.
import type { Service } from '../resource-manager.js';
import { consoleServices } from './console.js';
import { memparcelServices } from './memparcel.js';
import { resourceServices } from './resources.js';
import { vmCreationServices } from './vm-creation.js';
import { vmLifecycleServices } from './vm-lifecycle.js';
import { vmMgntServices } from './vm-mgnt.js';

export const SERVICES: ReadonlyMap<number, Service> = new Map([
  ...vmMgntServices,
  ...vmCreationServices,
  ...vmLifecycleServices,
  ...memparcelServices,
  ...resourceServices,
  ...consoleServices,
]);
