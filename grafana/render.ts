// The files grafana/generate.ts writes, rendered in memory so a test can compare them with the committed ones.

import { fileURLToPath } from 'node:url';
import { renderRules } from './alerts.js';
import { DASHBOARDS } from './boards/index.js';

/** The repository root, from this module's place in dist/grafana/. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DASHBOARD_DIR = 'grafana/dashboards';
export const RULES_FILE = 'grafana/alerts/gunyah.rules.yml';
export const REGENERATE_COMMAND = 'npx tsc -p . && node dist/grafana/generate.js';

export interface GeneratedFile {
  /** Relative to the repository root. */
  readonly path: string;
  readonly content: string;
}

export function generatedFiles(): GeneratedFile[] {
  return [
    ...DASHBOARDS.map((d) => ({ path: `${DASHBOARD_DIR}/${d.uid}.json`, content: `${JSON.stringify(d, null, 2)}\n` })),
    { path: RULES_FILE, content: renderRules() },
  ];
}
