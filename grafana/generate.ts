// Writes the dashboards (grafana/dashboards/*.json) and the alert rules (grafana/alerts/gunyah.rules.yml) from
// their TypeScript sources. Run after building: node dist/grafana/generate.js

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DASHBOARD_DIR, REPO_ROOT, generatedFiles } from './render.js';

const files = generatedFiles();
for (const file of files) {
  const path = join(REPO_ROOT, file.path);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, file.content);
  console.log(`wrote ${file.path}`);
}

// The dashboard folder holds generated files only: a dashboard removed from the source goes from the folder too.
const written = new Set(files.map((f) => f.path));
for (const name of readdirSync(join(REPO_ROOT, DASHBOARD_DIR))) {
  const path = `${DASHBOARD_DIR}/${name}`;
  if (name.endsWith('.json') && !written.has(path)) {
    rmSync(join(REPO_ROOT, path));
    console.log(`removed ${path}`);
  }
}
