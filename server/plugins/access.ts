// Who may do what: a per-client rate limit on every request, and the bearer token every change (any method but
// GET and HEAD) must carry when the server has one (startServer requires one beyond loopback).
import rateLimit from '@fastify/rate-limit';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../problem.js';

export interface AccessOptions {
  /** The bearer token changes need; none: changes are open (loopback only). */
  token?: string;
  /** Requests each client (by address; every Unix-socket client is one client) may make per window; false: off. */
  rateLimit?: { max: number; timeWindowMs: number } | false;
}

export const DEFAULT_RATE_LIMIT = { max: 1000, timeWindowMs: 1000 };

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** A constant-time comparison of the presented token with the expected one. */
function tokenMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer (\S+)$/.exec(header ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!), expected);
}

export default fp(async function access(app: FastifyInstance, opts: AccessOptions) {
  const limit = opts.rateLimit ?? DEFAULT_RATE_LIMIT;
  if (limit !== false) {
    await app.register(rateLimit, {
      max: limit.max,
      timeWindow: limit.timeWindowMs,
      keyGenerator: (request) => request.ip || 'unix-socket',
      errorResponseBuilder: (_request, ctx) => {
        const seconds = Math.max(1, Math.ceil(ctx.ttl / 1000));
        return ApiError.control('RATE_LIMITED', `more than ${ctx.max} requests in ${limit.timeWindowMs} ms; retry in ${seconds} s`, {
          headers: { 'retry-after': String(seconds) },
        });
      },
    });
  }
  if (opts.token !== undefined) {
    const expected = digest(opts.token);
    app.addHook('onRequest', async (request) => {
      if (request.method === 'GET' || request.method === 'HEAD') return;
      if (!tokenMatches(request.headers.authorization, expected)) {
        throw ApiError.control('UNAUTHORIZED', 'changes need an Authorization: Bearer <token> header with the daemon\'s token', {
          headers: { 'www-authenticate': 'Bearer realm="gunyah-emu"' },
        });
      }
    });
  }
}, { name: 'access' });
