// Whether tests can mount FUSE here. Tests that need it call requireFuse(t) first: without FUSE they are skipped
// with the reason and the remedy, except under CI (CI set), where a skip would hide a broken machine: they fail.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { fuseAvailability } from '../../fs/mount-lifecycle.js';

export const fuse = await fuseAvailability();

export function requireFuse(t: TestContext): boolean {
  if (fuse.ok) return true;
  const message = `FUSE unavailable: ${fuse.reason}; to run these tests: ${fuse.remedy}`;
  if (process.env.CI) assert.fail(`${message} (CI is set, so this is a failure, not a skip)`);
  t.skip(message);
  return false;
}
