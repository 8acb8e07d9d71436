// Every dashboard, in the order Grafana's dashboard list shows them by title.

import type { Dashboard } from '../panels.js';
import { hypercalls } from './hypercalls.js';
import { msgq } from './msgq.js';
import { overview } from './overview.js';
import { rmRpc } from './rm-rpc.js';
import { vm } from './vm.js';

export const DASHBOARDS: readonly Dashboard[] = [overview, vm, msgq, rmRpc, hypercalls];
