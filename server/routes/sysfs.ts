// GET|PUT /v1/sysfs/<path>: the sysfs tree over HTTP (issue 4 item 5). The same tree the FUSE mount serves and the
// same readers (fs/tree.ts readPath/writePath), so a file answers the bytes `cat` prints and a write obeys the
// same rules as `echo value > node`; a directory answers a JSON listing.
import type { FastifyInstance } from 'fastify';
import { readPath, writePath, type DirNode, type FsErrorKind } from '../../fs/tree.js';
import { ApiError } from '../problem.js';
import { operation } from '../schemas/operation.js';

/** A sysfs write is one value; anything longer is not a sysfs value. */
export const MAX_SYSFS_WRITE = 4096;

/** Each errno once, as an HTTP status; the problem `code` is the errno name. */
const FS_ERROR_STATUS: Record<FsErrorKind, number> = {
  ENOENT: 404, ENOTDIR: 404, EISDIR: 400, EACCES: 403, EPERM: 403, EINVAL: 400, EBUSY: 409, EIO: 500,
};

function fsProblem(error: FsErrorKind, path: string, reason: string | undefined): ApiError {
  return new ApiError(FS_ERROR_STATUS[error], error, `sysfs: ${error}`, reason ? `${path}: ${reason}` : path);
}

const listing = {
  description: 'A directory: its entries.',
  type: 'object',
  additionalProperties: false,
  required: ['path', 'entries'],
  properties: {
    path: { type: 'string' },
    entries: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'type', 'mode'],
        properties: {
          name: { type: 'string' },
          type: { type: 'string', enum: ['file', 'dir'] },
          mode: { type: 'string', description: 'Permission bits in octal, as `stat -c %a` prints them.' },
        },
      },
    },
  },
} as const;

const readContent = {
  'text/plain': { schema: { type: 'string', description: 'A file: the bytes `cat` prints.' } },
  'application/json': { schema: listing },
};

export default async function sysfsRoutes(app: FastifyInstance, opts: { root: DirNode }) {
  const { root } = opts;
  const pathOf = (wildcard: string | undefined) => `/${wildcard ?? ''}`.replace(/\/+$/, '') || '/';

  app.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: MAX_SYSFS_WRITE }, (_request, body, done) => done(null, body));

  app.get<{ Params: { '*': string } }>('/v1/sysfs/*', {
    schema: operation({
      operationId: 'readSysfs',
      tag: 'sysfs',
      summary: 'Read a sysfs node',
      description: 'The node at the path below the mount root (which plays /sys/hypervisor): a file answers exactly '
        + 'the bytes `cat` prints (text/plain), a directory a JSON listing. Errors carry the errno name as their code: '
        + 'ENOENT (404), EACCES (403, a write-only node), EIO (500, the backend failed).',
      response: { 200: { description: 'The file content or the directory listing.', content: readContent } },
      problems: [403, 404, 500],
    }),
  }, async (request, reply) => {
    const path = pathOf(request.params['*']);
    const r = readPath(root, path);
    if (r.kind === 'error') throw fsProblem(r.error, path, r.reason);
    if (r.kind === 'file') return reply.type('text/plain; charset=utf-8').send(r.bytes);
    return reply.type('application/json').send({
      path,
      entries: r.entries.map((e) => ({ name: e.name, type: e.type, mode: e.mode.toString(8).padStart(4, '0') })),
    });
  });

  app.put<{ Params: { '*': string }; Body: string }>('/v1/sysfs/*', {
    schema: operation({
      operationId: 'writeSysfs',
      tag: 'sysfs',
      summary: 'Write a sysfs control node',
      description: 'Writes the text/plain body to a writable node, as `echo value > node` does: EACCES (403) for a '
        + `read-only node, EINVAL (400) for a value the node refuses, EBUSY (409). At most ${MAX_SYSFS_WRITE} bytes.`,
      change: true,
      body: { type: 'string' },
      response: { 204: { description: 'The node took the value.', type: 'null' } },
      problems: [403, 404, 500],
    }),
  }, async (request, reply) => {
    const path = pathOf(request.params['*']);
    const err = writePath(root, path, request.body);
    if (err !== undefined) throw fsProblem(err.error, path, err.reason);
    return reply.code(204).send();
  });
}
