import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GH_ERROR } from '../../core/abi/errors.js';
import { RM_ERROR } from '../../core/abi/rm.js';
import { buildApp, JSON_BODY_LIMIT } from '../../server/app.js';
import { ghErrorStatus, rmErrorStatus } from '../../server/error-status.js';
import { ApiError } from '../../server/problem.js';
import supertest from 'supertest';
import { assertProblem, fixtureApp, hex, serverFixture, VMID_A } from './fixture.js';

test('problems: core errors map to one status each, keeping their spec names', () => {
  const cases: [number, string, number][] = [
    [GH_ERROR.ARGUMENT_INVALID, 'ERROR_ARGUMENT_INVALID', 400],
    [GH_ERROR.ADDR_INVALID, 'ERROR_ADDR_INVALID', 400],
    [GH_ERROR.ARGUMENT_SIZE, 'ERROR_ARGUMENT_SIZE', 413],
    [GH_ERROR.CSPACE_CAP_NULL, 'ERROR_CSPACE_CAP_NULL', 404],
    [GH_ERROR.CSPACE_WRONG_OBJECT_TYPE, 'ERROR_CSPACE_WRONG_OBJECT_TYPE', 404],
    [GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS, 'ERROR_CSPACE_INSUFFICIENT_RIGHTS', 403],
    [GH_ERROR.MSGQUEUE_FULL, 'ERROR_MSGQUEUE_FULL', 409],
    [GH_ERROR.OBJECT_STATE, 'ERROR_OBJECT_STATE', 409],
    [GH_ERROR.UNIMPLEMENTED, 'ERROR_UNIMPLEMENTED', 501],
    [GH_ERROR.RETRY, 'ERROR_RETRY', 503],
    [GH_ERROR.FAILURE, 'ERROR_FAILURE', 500],
  ];
  for (const [err, code, status] of cases) assert.deepEqual(ghErrorStatus(err), { code, status });
  assert.deepEqual(rmErrorStatus(RM_ERROR.VM_STATE), { code: 'RM_ERROR_VM_STATE', status: 409 });
  assert.deepEqual(rmErrorStatus(RM_ERROR.VMID_INVALID), { code: 'RM_ERROR_VMID_INVALID', status: 404 });
  assert.deepEqual(rmErrorStatus(RM_ERROR.ARGUMENT_INVALID), { code: 'RM_ERROR_ARGUMENT_INVALID', status: 400 });
  assert.deepEqual(rmErrorStatus(RM_ERROR.UNIMPLEMENTED), { code: 'RM_ERROR_UNIMPLEMENTED', status: 501 });
  // 503s say when to try again: ERROR_RETRY, and the RM not answering in time.
  assert.equal(ApiError.gh(GH_ERROR.RETRY, 'busy').extra.headers?.['retry-after'], '1');
  assert.equal(ApiError.control('RM_TIMEOUT', 'no answer').extra.headers?.['retry-after'], '1');
  assert.equal(ApiError.control('RM_TIMEOUT', 'no answer', { headers: { 'retry-after': '5' } }).extra.headers?.['retry-after'], '5');
});

test('problems: malformed JSON and empty JSON bodies are 400 MALFORMED_JSON', async () => {
  const { f, app, http } = await fixtureApp();
  const url = `/v1/vms/${VMID_A}/msgqs/${hex(f.msgq.a)}/send`;
  assertProblem(await http.post(url).set('content-type', 'application/json').send('{"data": "x"'), 400, 'MALFORMED_JSON');
  assertProblem(await http.post(url).set('content-type', 'application/json').send(''), 400, 'MALFORMED_JSON');
  await app.close();
});

test('problems: a POST without a body reads as {} and names each missing member', async () => {
  const { f, app, http } = await fixtureApp();
  const p = assertProblem(await http.post(`/v1/vms/${VMID_A}/msgqs/${hex(f.msgq.a)}/send`), 400, 'VALIDATION_FAILED');
  assert.equal(p.field, '/body/data');
  assert.deepEqual(p.errors, [{ field: '/body/data', message: 'is required' }]);
  await app.close();
});

test('problems: bodies in other media types are 415, oversized ones 413', async () => {
  const { f, app, http } = await fixtureApp();
  const url = `/v1/vms/${VMID_A}/msgqs/${hex(f.msgq.a)}/send`;
  assertProblem(await http.post(url).set('content-type', 'text/plain').send('hello'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  assertProblem(await http.post(url).set('content-type', 'application/xml').send('<data/>'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  assertProblem(await http.post(url).set('content-type', 'application/octet-stream').send(Buffer.from('x')), 415, 'UNSUPPORTED_MEDIA_TYPE');
  const big = assertProblem(await http.post(url).send({ data: 'x'.repeat(JSON_BODY_LIMIT) }), 413, 'PAYLOAD_TOO_LARGE');
  assert.match(big.detail, new RegExp(String(JSON_BODY_LIMIT)));
  await app.close();
});

test('problems: unknown paths are 404 NOT_FOUND problems, whatever the method', async () => {
  const { app, http } = await fixtureApp();
  for (const res of [
    await http.get('/v2/hypervisor'),
    await http.get(`/v1/vms/${VMID_A}/widgets`),
    await http.delete('/v1/nothing'),
    await http.post('/v1/hypervisor/identify').send({}),
  ]) {
    const p = assertProblem(res, 404, 'NOT_FOUND');
    assert.match(p.detail, /^no route for (GET|DELETE|POST) \//);
    assert.equal(res.headers.allow, undefined);
  }
  await app.close();
});

test('problems: a known path asked with another method is 405 METHOD_NOT_ALLOWED with an Allow header', async () => {
  const { app, http } = await fixtureApp();
  for (const [method, path, allow] of [
    ['PUT', '/v1/vms', 'GET, HEAD, POST'],
    ['DELETE', '/v1/hypervisor', 'GET, HEAD'],
    ['POST', '/v1/hypervisor', 'GET, HEAD'],
    ['PUT', `/v1/vms/${VMID_A}`, 'GET, HEAD, DELETE'],
    ['GET', `/v1/vms/${VMID_A}/start`, 'POST'],
    ['PATCH', `/v1/vms/${VMID_A}/msgqs/${hex(1n)}/send`, 'POST'],
  ] as const) {
    const res = await http[method.toLowerCase() as Lowercase<typeof method>](path);
    const p = assertProblem(res, 405, 'METHOD_NOT_ALLOWED');
    assert.equal(res.headers.allow, allow, `${method} ${path}`);
    assert.equal(p.detail, `${path} does not serve ${method}; it serves ${allow}`);
  }
  await app.close();
});

test('problems: a fault of the server is a 500 INTERNAL_ERROR that reveals nothing', async () => {
  const f = serverFixture();
  const lines: string[] = [];
  const app = await buildApp(f.services, { rateLimit: false, logger: { level: 'error', stream: { write: (l) => lines.push(l) } } });
  app.get('/v1/broken', async () => {
    throw new Error('secret internals');
  });
  await app.ready();
  const p = assertProblem(await supertest(app.server).get('/v1/broken'), 500, 'INTERNAL_ERROR');
  assert.doesNotMatch(JSON.stringify(p), /secret/);
  assert.ok(lines.some((l) => l.includes('secret internals')), 'the log has the details');
  await app.close();
});
