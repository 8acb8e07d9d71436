// Every error becomes an RFC 9457 problem (problem.ts): schema violations, unparsable or oversized bodies, wrong
// content types, unknown routes and methods, rate limiting, and the ApiErrors routes throw. Only a fault of the
// server itself is a 500.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, preValidationHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { refusedBeforeRouting } from '../metrics/plugin.js';
import { ApiError, PROBLEM_CONTENT_TYPE } from '../problem.js';
import { fieldErrors } from '../validation.js';

/** The methods a 405 answer can list in its Allow header. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

const emptyBodyIsObject: preValidationHookHandler = (request, _reply, done) => {
  if (request.body === undefined) request.body = {};
  done();
};

function toApiError(err: FastifyError, request: FastifyRequest): ApiError {
  if (err instanceof ApiError) return err;
  if (err.validation !== undefined && err.validationContext !== undefined) {
    const errors = fieldErrors(err.validation, err.validationContext);
    const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    return ApiError.control('VALIDATION_FAILED', detail, { field: errors[0]?.field ?? `/${err.validationContext}`, errors });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return ApiError.control('MALFORMED_JSON', err.message);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return ApiError.control('PAYLOAD_TOO_LARGE', `the body is larger than the ${request.routeOptions.bodyLimit} bytes this route accepts`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return ApiError.control('UNSUPPORTED_MEDIA_TYPE', `this route does not accept ${request.headers['content-type'] ?? 'a body without a content type'}`);
  }
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return new ApiError(err.statusCode, 'MALFORMED_REQUEST', 'The request is not well-formed HTTP', err.message);
  }
  return ApiError.control('INTERNAL_ERROR', 'the server failed to answer this request; the log has the details');
}

/**
 * What Fastify answers itself, before routing (a URL whose percent-encoding does not decode): a problem too. Passed
 * as Fastify's `frameworkErrors` option, which only the constructor takes.
 */
export function frameworkProblem(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendProblem(reply, ApiError.control('MALFORMED_REQUEST', err.message));
  refusedBeforeRouting(request, reply);
}

export function sendProblem(reply: FastifyReply, error: ApiError): FastifyReply {
  for (const [name, value] of Object.entries(error.extra.headers ?? {})) reply.header(name, value);
  return reply.code(error.status).type(PROBLEM_CONTENT_TYPE).send(error.toProblem(reply.request.url));
}

export default fp(async function problems(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const error = toApiError(err, request);
    if (error.status >= 500) request.log.error({ err }, 'request failed');
    return sendProblem(reply, error);
  });

  // A path some route serves, asked with another method, is 405 with the methods it allows (RFC 9110 §15.5.6).
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0]!;
    const allowed = METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
    if (allowed.length === 0) return sendProblem(reply, ApiError.control('NOT_FOUND', `no route for ${request.method} ${path}`));
    const allow = allowed.join(', ');
    return sendProblem(reply, ApiError.control('METHOD_NOT_ALLOWED', `${path} does not serve ${request.method}; it serves ${allow}`, {
      headers: { allow },
    }));
  });

  // JSON is the only body type besides the raw-memory route's own parser; text/plain gets 415, not a string.
  app.removeContentTypeParser('text/plain');

  // A POST without a body is an empty JSON object: the schema then names each required member that is missing.
  // Only routes whose body is an object get the hook, so no other request pays for it.
  app.addHook('onRoute', (route) => {
    const body = route.schema?.body as { type?: string } | undefined;
    if (body?.type !== 'object') return;
    const existing = route.preValidation === undefined ? [] : Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation];
    route.preValidation = [emptyBodyIsObject, ...existing];
  });
}, { name: 'problems' });
