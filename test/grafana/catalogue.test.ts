// The metric catalogue (server/metrics/families.ts) follows Prometheus naming and keeps the names the product
// brief promises.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GH_ERROR_CODES, ghErrorName } from '../../core/abi/errors.js';
import { HYPERCALLS } from '../../core/abi/hypercalls.js';
import { RM_ERROR, RM_MSG, RM_NOTIF, rmErrorName } from '../../core/abi/rm.js';
import { SMCCC_CALL } from '../../core/abi/smccc.js';
import {
  FAMILY,
  METRIC_FAMILIES,
  RM_RPC_DURATION_BUCKETS,
  UNKNOWN_CALL,
  UNKNOWN_RM_MESSAGE,
  VCPU_STATE,
  type MetricFamily,
} from '../../server/metrics/families.js';

const families: readonly MetricFamily[] = METRIC_FAMILIES;

/** Labels whose values are ids or one value per route, build or VM rather than a closed list. */
const OPEN_LABELS = new Set([
  'vmid', 'sender_vmid', 'receiver_vmid', 'msgq', 'doorbell', 'vcpu', 'max_msg_size',
  'method', 'route', 'status', 'type', 'version', 'name', 'image',
]);

test('the families the product brief promises exist with its labels', () => {
  const promised: Record<string, string[]> = {
    gunyah_hypercalls_total: ['call', 'result'],
    gunyah_msgq_messages_total: ['msgq', 'direction'],
    gunyah_msgq_bytes_total: ['msgq', 'direction'],
    gunyah_msgq_depth: ['msgq'],
    gunyah_msgq_capacity: ['msgq'],
    gunyah_msgq_full_total: ['msgq'],
    gunyah_doorbell_sends_total: ['doorbell', 'vmid'],
    gunyah_rm_rpc_requests_total: ['message', 'result'],
    gunyah_rm_rpc_duration_seconds: ['message'],
    gunyah_console_bytes_total: ['vmid', 'direction'],
    gunyah_vm_info: ['vmid', 'name', 'type', 'image'],
    gunyah_vm_status: ['vmid'],
    gunyah_vcpu_state: ['vmid', 'vcpu'],
  };
  for (const [name, labels] of Object.entries(promised)) {
    assert.deepEqual((FAMILY as Record<string, MetricFamily>)[name]?.labels, labels, name);
  }
});

test('names are unique snake_case gunyah_ names', () => {
  assert.equal(new Set(families.map((f) => f.name)).size, families.length);
  for (const f of families) assert.match(f.name, /^gunyah_[a-z][a-z0-9_]*[a-z0-9]$/, f.name);
});

test('counters end in _total, info gauges in _info, and no other family does', () => {
  for (const f of families) {
    assert.equal(f.name.endsWith('_total'), f.type === 'counter', f.name);
    assert.equal(f.name.endsWith('_info'), f.type === 'info', f.name);
    assert.doesNotMatch(f.name, /_(bucket|sum|count)$/, `${f.name} would clash with a histogram series`);
  }
});

test('help names the unit of families in seconds or bytes and ends a sentence', () => {
  for (const f of families) {
    assert.match(f.help, /^[A-Za-z].*\.$/, f.name);
    for (const unit of ['seconds', 'bytes']) {
      if (f.name.includes(`_${unit}`)) assert.match(f.help, new RegExp(`in ${unit}`), f.name);
    }
  }
});

test('only histograms have buckets, strictly increasing', () => {
  for (const f of families) {
    assert.equal(f.buckets !== undefined, f.type === 'histogram', f.name);
    f.buckets?.forEach((b, i) => i > 0 && assert.ok(b > f.buckets![i - 1], `${f.name} bucket ${b}`));
  }
});

test('RM RPC duration buckets run from microseconds to half a second', () => {
  assert.deepEqual(FAMILY.gunyah_rm_rpc_duration_seconds.buckets, RM_RPC_DURATION_BUCKETS);
  assert.equal(RM_RPC_DURATION_BUCKETS[0], 5e-6);
  assert.equal(RM_RPC_DURATION_BUCKETS.at(-1), 0.5);
});

test('every label is either enumerated or an id, and none is reserved', () => {
  for (const f of families) {
    assert.equal(new Set(f.labels).size, f.labels.length, f.name);
    for (const label of f.labels) {
      assert.match(label, /^[a-z][a-z0-9_]*$/, `${f.name}{${label}}`);
      assert.ok(!['le', 'quantile', 'instance', 'job'].includes(label), `${f.name}{${label}} is reserved`);
      assert.ok(f.values?.[label] !== undefined || OPEN_LABELS.has(label), `${f.name}{${label}} is unbounded`);
    }
    for (const label of Object.keys(f.values ?? {})) assert.ok(f.labels.includes(label), `${f.name} values.${label}`);
  }
});

test('hypercall labels take the names of core/abi: every call, SMCCC service and error', () => {
  const { call, result } = FAMILY.gunyah_hypercalls_total.values;
  for (const name of [...HYPERCALLS.map((c) => c.name), ...Object.keys(SMCCC_CALL)]) assert.ok(call.includes(name), name);
  assert.ok(call.includes('msgqueue_send') && call.includes('SMCCC_VERSION') && call.includes(UNKNOWN_CALL));
  assert.equal(call.length, HYPERCALLS.length + Object.keys(SMCCC_CALL).length + 1);
  for (const code of GH_ERROR_CODES) assert.ok(result.includes(ghErrorName(code)), ghErrorName(code));
  assert.equal(result.length, GH_ERROR_CODES.length);
  assert.ok(result.includes('OK') && result.includes('ERROR_MSGQUEUE_FULL'));
});

test('RM labels take the message, notification and error names of spec §9.4 and §3.3', () => {
  const { message, result } = FAMILY.gunyah_rm_rpc_requests_total.values;
  for (const name of Object.keys(RM_MSG)) assert.ok(message.includes(name), name);
  assert.ok(message.includes('VM_GET_STATE') && message.includes(UNKNOWN_RM_MESSAGE));
  assert.equal(message.length, Object.keys(RM_MSG).length + 1);
  for (const code of Object.values(RM_ERROR)) assert.ok(result.includes(rmErrorName(code)), rmErrorName(code));
  assert.ok(result.includes('RM_OK') && result.includes('RM_ERROR_VM_STATE'));
  assert.deepEqual(FAMILY.gunyah_rm_notifications_total.values.notification, Object.keys(RM_NOTIF));
});

test('state gauges document their numbering in help', () => {
  assert.match(FAMILY.gunyah_vm_status.help, /3 RUNNING, .*9 EXITED/);
  assert.match(FAMILY.gunyah_vm_os_status.help, /7 CRASHED/);
  assert.deepEqual(Object.values(VCPU_STATE), [0, 1, 2, 3, 4, 5]);
  assert.match(FAMILY.gunyah_vcpu_state.help, /0 powered_off, 1 ready, 2 running, 3 expects_wakeup, 4 blocked, 5 fault/);
});
