import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkConfig, ConfigError, DEFAULT_CONFIG, parseConfig } from '../../core/config/schema.js';

const refusal = (text: string) => {
  const r = parseConfig(text, 'test.yaml');
  assert.ok(r instanceof ConfigError, `accepted: ${text}`);
  return r.message;
};

test('the embedded default: loopback port 8080, the default mount, svm1 console-echo and svm2 traffic', () => {
  assert.equal(DEFAULT_CONFIG.host, '127.0.0.1');
  assert.equal(DEFAULT_CONFIG.port, 8080);
  assert.equal(DEFAULT_CONFIG.mount, 'default');
  assert.equal(DEFAULT_CONFIG.rmTimeoutMs, 2000);
  assert.deepEqual(DEFAULT_CONFIG.vms.map((v) => [v.name, v.image, v.vcpus, v.memory]), [
    ['svm1', 'console-echo', 1, 1 << 20],
    ['svm2', 'traffic', 1, 1 << 20],
  ]);
  assert.deepEqual(DEFAULT_CONFIG.vms[1]!.params, { rate: 50, console_rate: 1 });
});

test('a file sets the keys it names and keeps the defaults of the others', () => {
  const c = parseConfig('port: 9000\nmount: false\nseed: 42\nvms:\n  - name: a\n    image: idle\n    memory: 256K\n    vmid: 5\n', 'x.yaml');
  assert.ok(!(c instanceof ConfigError));
  assert.equal(c.port, 9000);
  assert.equal(c.mount, null);
  assert.equal(c.seed, 42);
  assert.equal(c.host, '127.0.0.1');
  assert.deepEqual(c.vms, [{ name: 'a', image: 'idle', vcpus: 1, memory: 256 << 10, params: {}, vmid: 5 }]);
  assert.deepEqual(parseConfig('', 'empty.yaml'), DEFAULT_CONFIG);
  assert.deepEqual((parseConfig('vms: []', 'x.yaml') as typeof DEFAULT_CONFIG).vms, []);
});

test('sizes are bytes or K/M/G strings, multiples of the page size', () => {
  const memory = (m: string) => (parseConfig(`vms:\n  - {name: a, image: idle, memory: ${m}}\n`, 'x') as typeof DEFAULT_CONFIG).vms[0]?.memory;
  assert.equal(memory('1M'), 1 << 20);
  assert.equal(memory('2MiB'), 2 << 20);
  assert.equal(memory('65536'), 65536);
  assert.match(refusal('vms:\n  - {name: a, image: idle, memory: 1000}\n'), /^test\.yaml: vms\[0\]\.memory: must be a size in bytes that is a multiple of 4096/);
});

test('every refusal names the file and the key', () => {
  assert.equal(refusal('prot: 1'), 'test.yaml: prot: unknown key (known: host, port, socket, mount, state_dir, token, seed, log_level, rm_timeout_ms, vms)');
  assert.equal(refusal('port: 65536'), 'test.yaml: port: must be an integer from 0 to 65535');
  assert.equal(refusal('host: ""'), 'test.yaml: host: must be a non-empty string');
  assert.equal(refusal('mount: 3'), 'test.yaml: mount: must be a directory, "default", or false for no mount');
  assert.equal(refusal('log_level: loud'), 'test.yaml: log_level: must be one of fatal, error, warn, info, debug, trace, silent');
  assert.equal(refusal('seed: -1'), 'test.yaml: seed: must be an integer from 0 to 4294967295');
  assert.equal(refusal('vms: {}'), 'test.yaml: vms: must be a list of VMs');
  assert.equal(refusal('vms:\n  - name: a\n'), 'test.yaml: vms[0].image: is required');
  assert.equal(refusal('vms:\n  - {name: a, image: idle, vcpus: 0}\n'), 'test.yaml: vms[0].vcpus: must be an integer from 1 to 64');
  assert.equal(refusal('vms:\n  - {name: a, image: idle, params: [1]}\n'), 'test.yaml: vms[0].params: must be a map of image parameters');
  assert.equal(refusal('vms:\n  - {name: a, image: idle, vmid: 64}\n'), 'test.yaml: vms[0].vmid: must be an integer from 1 to 63');
  assert.equal(refusal('vms:\n  - {name: a, image: idle}\n  - {name: a, image: idle}\n'), 'test.yaml: vms[1].name: "a" is used twice');
  assert.equal(refusal('- 1\n- 2\n'), 'test.yaml: the configuration must be a map of keys');
  assert.match(refusal('port: [1\n'), /^test\.yaml: not valid YAML: /);
  assert.match(refusal('port: 1\nport: 2\n'), /^test\.yaml: not valid YAML: Map keys must be unique/);
});

test('checkConfig applies the same rules to values that did not come from YAML (command-line flags)', () => {
  const r = checkConfig({ port: 0, mount: false }, 'command line');
  assert.ok(!(r instanceof ConfigError));
  assert.equal(r.port, 0);
  assert.equal(r.mount, null);
  assert.equal((checkConfig({ token: '' }, 'command line') as ConfigError).message, 'command line: token: must be a non-empty string');
});
