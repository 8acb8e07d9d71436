// gunyahctl and a daemon started with --token: changes carry the bearer token from --token or GUNYAH_TOKEN, over
// TCP and the Unix socket; without it the daemon's refusal (UNAUTHORIZED) is exit code 1; reads need no token.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ctl, ctlEnv, startGunyahd, type Gunyahd } from './fixture.js';

const TOKEN = 'cli-test-token';
let gunyahd: Gunyahd;

before(async () => {
  gunyahd = await startGunyahd(['--token', TOKEN]);
});
after(() => gunyahd.close());

test('a change without the token is refused with UNAUTHORIZED (exit 1); reads need none', async () => {
  const env = ctlEnv({ GUNYAH_URL: gunyahd.url });
  const [refused, read] = await Promise.all([
    ctl(['vm', 'create', '--image', 'idle', 'no-token'], env),
    ctl(['vm', 'ls'], env),
  ]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^gunyahctl: UNAUTHORIZED: .*\(HTTP 401: /);
  assert.equal(read.code, 0, read.stderr);
});

test('the token from GUNYAH_TOKEN (TCP) or --token (Unix socket) lets changes through', async () => {
  const viaEnv = await ctl(['vm', 'create', '--image', 'idle', 'tok1'], ctlEnv({ GUNYAH_URL: gunyahd.url, GUNYAH_TOKEN: TOKEN }));
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  const viaFlag = await ctl(['--socket', gunyahd.socket, '--token', TOKEN, 'vm', 'rm', 'tok1'], ctlEnv());
  assert.equal(viaFlag.code, 0, viaFlag.stderr);
  const wrong = await ctl(['--token', 'not-it', 'vm', 'create', '--image', 'idle', 'tok2'], ctlEnv({ GUNYAH_URL: gunyahd.url }));
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /UNAUTHORIZED/);
});
