import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeImageHeader, encodeImageHeader, IMAGE_HEADER_SIZE, isImageHeaderError, type ImageHeader,
} from '../../core/guests/image-header.js';

const IMAGE_SIZE = 0x10000;
const header: ImageHeader = { name: 'traffic', vcpus: 2, entryOffset: 0x1000, params: { rate: 200 } };
const encoded = () => encodeImageHeader(header, IMAGE_SIZE) as Uint8Array;

test('a header round-trips: magic "GEMU", version 1, name, vCPUs, entry offset and JSON parameters', () => {
  const bytes = encoded();
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), 'GEMU');
  assert.equal(bytes.length, IMAGE_HEADER_SIZE + '{"rate":200}'.length);
  assert.deepEqual(decodeImageHeader(bytes, IMAGE_SIZE), header);
});

test('a header with no parameters decodes with an empty parameter object', () => {
  const bytes = encodeImageHeader({ name: 'idle', vcpus: 1, entryOffset: 0, params: {} }, IMAGE_SIZE) as Uint8Array;
  const view = new DataView(bytes.buffer);
  view.setUint32(48, 0, true); // params_size 0
  assert.deepEqual(decodeImageHeader(bytes.subarray(0, IMAGE_HEADER_SIZE), IMAGE_SIZE), {
    name: 'idle', vcpus: 1, entryOffset: 0, params: {},
  });
});

const corrupt = (at: number, value: number, width: 1 | 2 | 4 = 4) => {
  const bytes = encoded().slice();
  const view = new DataView(bytes.buffer);
  if (width === 4) view.setUint32(at, value, true);
  else if (width === 2) view.setUint16(at, value, true);
  else view.setUint8(at, value);
  return decodeImageHeader(bytes, IMAGE_SIZE);
};
const errorOf = (r: ReturnType<typeof decodeImageHeader>) => (isImageHeaderError(r) ? r.error : 'accepted');

test('bad headers are refused with the field named', () => {
  assert.equal(errorOf(decodeImageHeader(new Uint8Array(10), IMAGE_SIZE)), 'too_short');
  assert.equal(errorOf(decodeImageHeader(new Uint8Array(4096), IMAGE_SIZE)), 'bad_magic');
  assert.equal(errorOf(corrupt(4, 2, 2)), 'bad_version');
  assert.equal(errorOf(corrupt(6, 64, 2)), 'bad_header_size');
  assert.equal(errorOf(corrupt(8, 0x41, 1)), 'bad_name'); // upper case
  assert.equal(errorOf(corrupt(8, 0, 1)), 'bad_name'); // empty name, junk after the NUL
  assert.equal(errorOf(corrupt(40, 0)), 'bad_vcpus');
  assert.equal(errorOf(corrupt(40, 65)), 'bad_vcpus');
  assert.equal(errorOf(corrupt(44, 2)), 'bad_entry');
  assert.equal(errorOf(corrupt(44, IMAGE_SIZE)), 'bad_entry');
  assert.equal(errorOf(corrupt(48, 5000)), 'bad_params');
  assert.equal(errorOf(corrupt(IMAGE_HEADER_SIZE, 0x7b7b, 2)), 'bad_params'); // "{{" is not JSON
  assert.equal(errorOf(corrupt(52, 1)), 'reserved_not_zero');
  const r = corrupt(4, 7, 2);
  assert.ok(isImageHeaderError(r));
  assert.equal(r.detail, 'image header version 7 is not 1');
});

test('a JSON parameter block that is not an object is refused', () => {
  const bytes = encodeImageHeader({ ...header, params: {} }, IMAGE_SIZE) as Uint8Array;
  const withArray = new Uint8Array(IMAGE_HEADER_SIZE + 2);
  withArray.set(bytes.subarray(0, IMAGE_HEADER_SIZE));
  withArray.set(new TextEncoder().encode('[]'), IMAGE_HEADER_SIZE);
  new DataView(withArray.buffer).setUint32(48, 2, true);
  assert.equal(errorOf(decodeImageHeader(withArray, IMAGE_SIZE)), 'bad_params');
});

test('the writer refuses what the reader would refuse', () => {
  const bad = (h: Partial<ImageHeader>) => encodeImageHeader({ ...header, ...h }, IMAGE_SIZE);
  assert.equal((bad({ name: 'Bad Name' }) as { error: string }).error, 'bad_name');
  assert.equal((bad({ vcpus: 1.5 }) as { error: string }).error, 'bad_vcpus');
  assert.equal((bad({ params: { blob: 'x'.repeat(5000) } }) as { error: string }).error, 'bad_params');
  assert.equal((encodeImageHeader(header, 40) as { error: string }).error, 'bad_entry');
});
