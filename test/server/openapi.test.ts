import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { generateOpenApi, OPENAPI_FILE, REGENERATE_COMMAND, serializeOpenApi } from '../../server/openapi.js';
import { PROBLEM_CONTENT_TYPE } from '../../server/problem.js';
import { allowedStatesSentence, VM_STATE_NAMES, type VmStateName } from '../../server/schemas/operation.js';
import { fixtureApp } from './fixture.js';

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  responses: Record<string, { content?: Record<string, unknown> }>;
  'x-allowed-vm-states'?: VmStateName[];
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** Generated once for the whole file (it boots a device). */
let generated: Promise<Record<string, unknown>> | null = null;
const document = () => (generated ??= generateOpenApi());

function operations(doc: Record<string, unknown>): [string, string, Operation][] {
  const paths = doc.paths as Record<string, Record<string, Operation>>;
  return Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(item).filter(([method]) => METHODS.includes(method)).map(([method, op]) => [path, method, op] as [string, string, Operation]));
}

test('openapi: the committed openapi/openapi.json is what the routes generate', async () => {
  const committed = readFileSync(OPENAPI_FILE, 'utf8');
  const fresh = serializeOpenApi(await document());
  assert.ok(committed === fresh, `openapi/openapi.json is stale: run \`${REGENERATE_COMMAND}\` and commit the result`);
});

test('openapi: the document passes Redocly\'s recommended rules with no errors', async () => {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source: serializeOpenApi(await document()), absoluteRef: OPENAPI_FILE, config });
  const errors = problems.filter((p) => p.severity === 'error');
  assert.deepEqual(errors.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`), []);
});

test('openapi: every operation is named, tagged, and documents its problems and its VM states', async () => {
  const doc = await document();
  assert.equal(doc.openapi, '3.1.0');
  const ops = operations(doc);
  assert.ok(ops.length >= 15);
  const ids = ops.map(([, , op]) => op.operationId);
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  for (const [path, method, op] of ops) {
    const where = `${method.toUpperCase()} ${path}`;
    assert.ok(op.operationId && op.summary && op.description && op.tags?.length === 1, where);
    assert.ok(op.responses['429']?.content?.[PROBLEM_CONTENT_TYPE], `${where} documents 429`);
    for (const [status, response] of Object.entries(op.responses)) {
      if (Number(status) >= 400) assert.ok(response.content?.[PROBLEM_CONTENT_TYPE], `${where} ${status} is a problem`);
    }
    if (path.startsWith('/v1/vms/{vmid}')) {
      const states = op['x-allowed-vm-states'];
      assert.ok(states && states.length > 0 && states.every((s) => VM_STATE_NAMES.includes(s)), `${where} lists its VM states`);
      assert.ok(op.description!.includes(allowedStatesSentence(states)), `${where} says its VM states`);
      assert.ok(op.responses['404'] && op.responses['409'], `${where} documents 404 and 409`);
    }
  }
});

test('openapi: served at /openapi.json, with the reference UI at /docs from local assets and an index at /', async () => {
  const { app, http } = await fixtureApp();
  const served = await http.get('/openapi.json').expect(200);
  assert.deepEqual(served.body, JSON.parse(JSON.stringify(app.swagger())));
  assert.equal(served.body.info.title, 'gunyah-emu control API');
  const docs = await http.get('/docs').redirects(1).expect(200);
  assert.match(docs.headers['content-type']!, /text\/html/);
  assert.match(docs.text, /swagger-ui/i);
  const bundle = await http.get('/docs/static/swagger-ui-bundle.js').expect(200);
  assert.ok(bundle.text.length > 100_000, 'the UI bundle is served by the daemon itself');
  const index = await http.get('/').expect(200);
  assert.match(index.headers['content-type']!, /text\/html/);
  assert.match(index.text, /href="\/docs"/);
  assert.match(index.text, /href="\/openapi.json"/);
  await app.close();
});
