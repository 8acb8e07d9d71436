// The API as a document: OpenAPI 3.1 generated from the route schemas (@fastify/swagger, dynamic mode), served at
// /openapi.json, with the reference UI at /docs (assets served locally) and an index page at / that links to them.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

export const TAGS = [
  { name: 'hypervisor', description: 'The emulated hypervisor\'s identity (spec §2).' },
  { name: 'vms', description: 'Virtual machines, managed through the Resource Manager (spec §9).' },
  { name: 'capabilities', description: 'The capabilities in a VM\'s cspace (spec §1.4).' },
  { name: 'msgqs', description: 'Message queues, used as the VM that holds the capability (spec §4).' },
  { name: 'doorbells', description: 'Doorbells, used as the VM that holds the capability (spec §5).' },
  { name: 'abi', description: 'Raw ABI access: one hypercall as a VM\'s vCPU 0, and its guest memory (spec §1).' },
  { name: 'consoles', description: 'VM consoles over HTTP: output streams and input (spec §10).' },
  { name: 'events', description: 'The event stream (server-sent events).' },
  { name: 'sysfs', description: 'The sysfs tree over HTTP: the same bytes as the FUSE mount (spec §11).' },
  { name: 'telemetry', description: 'Prometheus metrics.' },
];

const DESCRIPTION = `The control API of gunyah-emu, an emulated Gunyah hypervisor and Resource Manager.

Errors are RFC 9457 problem documents (application/problem+json) with a stable \`code\`: a Gunyah error name
(ERROR_MSGQUEUE_FULL), an RM error name (RM_ERROR_VM_STATE) or a control-plane code (VALIDATION_FAILED, VM_NOT_FOUND,
VM_STATE_CONFLICT, ...). Validation problems name the field at fault as a JSON pointer (\`field\`, \`errors\`).
A path asked with a method it does not serve is 405 METHOD_NOT_ALLOWED, with the methods it serves in \`Allow\`.

Each VM route says in which VM states (spec §9.5) it is allowed, in its description and in \`x-allowed-vm-states\`.
Changes (every method but GET and HEAD) need \`Authorization: Bearer <token>\` when the daemon listens beyond
loopback; every client is rate limited (429 with Retry-After).`;

export default fp(async function docs(app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'gunyah-emu control API',
        version: pkg.version,
        description: DESCRIPTION,
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: 'http://127.0.0.1:8080', description: 'gunyahd on its default address' }],
      tags: TAGS,
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'The daemon\'s --token; needed for changes beyond loopback.' },
        },
      },
      security: [{}, { bearerAuth: [] }],
    },
    // A wildcard route (the sysfs mirror) is documented with its tail as one `path` parameter.
    transform: ({ schema, url }) => {
      if (!url.endsWith('/*')) return { schema, url };
      const path = { type: 'string', description: 'The rest of the path, slashes included.' };
      return {
        schema: { ...schema, params: { type: 'object', required: ['path'], properties: { path } } },
        url: `${url.slice(0, -1)}:path`,
      };
    },
    // Shared schemas keep their $id as their component name.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(INDEX_PAGE));
}, { name: 'docs' });

const INDEX_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gunyah-emu</title></head>
<body>
<h1>gunyah-emu</h1>
<p>An emulated Gunyah hypervisor and Resource Manager.</p>
<ul>
<li><a href="/docs">API reference</a></li>
<li><a href="/openapi.json">OpenAPI document</a></li>
<li><a href="/v1/hypervisor">Hypervisor identity</a></li>
<li><a href="/v1/events">Event stream</a></li>
<li><a href="/console/128">Console of VM 128 in the browser</a> (any VM: <code>/console/&lt;vmid&gt;</code>)</li>
</ul>
</body></html>
`;
