import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CONFIG, type DaemonConfig } from '../../core/config/schema.js';
import { banner, PROMPT } from '../../core/guests/images/console-echo.js';
import { startDaemon, type Surface } from '../../bin/daemon.js';
import { eventually } from '../hlos/device-fixture.js';

const config: DaemonConfig = { ...DEFAULT_CONFIG, mount: null, logLevel: 'silent', seed: 1 };

/** A surface that records console output from the start, as the console log of the REST layer does. */
function consoleRecorder(output: Map<number, string>): Surface {
  return {
    name: 'console recorder',
    async start(ctx) {
      const decoder = new TextDecoder();
      const off = ctx.hlos.events.on('console-output', (e) => output.set(e.vmid, (output.get(e.vmid) ?? '') + decoder.decode(e.bytes)));
      return { close: async () => off() };
    },
  };
}

test('the default topology boots; svm1 prints its banner and echoes a typed line; svm2 makes traffic', async (t) => {
  const output = new Map<number, string>();
  const daemon = await startDaemon(config, { surfaces: [consoleRecorder(output)] });
  t.after(() => daemon.close());
  const { hlos } = daemon.context;
  assert.deepEqual(
    hlos.listVms().map((v) => [v.vmid, v.name, v.type, v.image]),
    [[3, 'HLOS', 'primary', null], [128, 'svm1', 'secondary', 'console-echo'], [129, 'svm2', 'secondary', 'traffic'], [255, 'RM', 'rm', null]],
  );
  const svm1 = hlos.listVms().find((v) => v.name === 'svm1')!;
  await eventually(() => output.get(svm1.vmid) === banner(svm1.vmid) + PROMPT, 2000, 'banner and prompt');
  assert.equal(output.get(svm1.vmid), 'gunyah-emu console-echo on VM 128\r\necho> ');
  await eventually(() => hlos.getVm(svm1.vmid)!.os_status === 'run', 2000, 'svm1 os_status RUN');

  assert.equal(await hlos.consoleWrite(svm1.vmid, new TextEncoder().encode('hello gunyah\r')), 13);
  await eventually(() => output.get(svm1.vmid)!.endsWith(`hello gunyah\r\n${PROMPT}`), 2000, 'the echo');
  assert.deepEqual(hlos.consoles.get(svm1.vmid), { in: 13, out: output.get(svm1.vmid)!.length });

  await eventually(() => /traffic vm 129: [1-9]\d* messages, [1-9]\d* rings, queue full \d+ times/.test(output.get(129) ?? ''), 3000, 'a traffic status line');
  const sunk = hlos.trafficSinks.get(129)!.counters;
  assert.ok(sunk.messages > 0 && sunk.rings > 0, `the HLOS consumed svm2's load: ${JSON.stringify(sunk)}`);
  assert.equal(sunk.bytes, sunk.messages * 64);
  assert.match(daemon.readyLine, /^gunyahd ready: API http:\/\/127\.0\.0\.1:8080 \(API not served yet\), sysfs not mounted \(--no-mount\)$/);
});

test('closing the daemon stops every guest and leaves nothing running', async () => {
  const daemon = await startDaemon(config);
  const { device } = daemon.context;
  await daemon.close();
  assert.equal(device.hyp.scheduler.isStopped, true);
  assert.equal(device.hlos.client.pendingCount, 0);
});
