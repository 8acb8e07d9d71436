// RFC 9457 problem details: every error the API answers is one of these, as `application/problem+json`, with a
// stable `code` a script can switch on. Control-plane codes are listed here; Gunyah and RM codes come from
// error-status.ts under their spec names.
import { ghErrorStatus, rmErrorStatus, type CoreErrorStatus } from './error-status.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Control-plane problems: code -> HTTP status and title. */
export const CONTROL_PROBLEMS = {
  VALIDATION_FAILED: { status: 400, title: 'The request does not match the schema' },
  MALFORMED_JSON: { status: 400, title: 'The request body is not valid JSON' },
  MALFORMED_REQUEST: { status: 400, title: 'The request is not well-formed HTTP' },
  UNAUTHORIZED: { status: 401, title: 'A valid bearer token is required for changes' },
  NOT_FOUND: { status: 404, title: 'No such route' },
  VM_NOT_FOUND: { status: 404, title: 'No VM with this VMID' },
  CONSOLE_NOT_FOUND: { status: 404, title: 'The daemon serves no console for this VM' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'The route does not serve this method' },
  VM_STATE_CONFLICT: { status: 409, title: 'The VM is not in a state that allows this' },
  NAME_IN_USE: { status: 409, title: 'Another VM has this name' },
  NO_MEMORY: { status: 409, title: 'The primary VM has no free memory range of this size to lend' },
  VM_HAS_NO_RAM: { status: 409, title: 'The VM has no RAM to hold the request\'s buffers' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is larger than this route accepts' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The route does not accept this content type' },
  RATE_LIMITED: { status: 429, title: 'Too many requests from this client' },
  INTERNAL_ERROR: { status: 500, title: 'Internal error' },
  RM_TIMEOUT: { status: 503, title: 'The Resource Manager did not answer in time' },
  RM_FAILED: { status: 503, title: 'The Resource Manager link failed' },
  CONSOLE_INPUT_BUSY: { status: 503, title: 'Too much console input is waiting for the Resource Manager' },
} as const satisfies Record<string, { status: number; title: string }>;
export type ControlCode = keyof typeof CONTROL_PROBLEMS;

/** One schema violation, `field` a JSON pointer into the request: `/body/vcpus`, `/params/capid`. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  field?: string;
  errors?: FieldError[];
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad request', 403: 'Forbidden', 404: 'Not found', 409: 'Conflict', 413: 'Payload too large',
  500: 'Internal error', 501: 'Not implemented', 503: 'Service unavailable',
};

/** Retry-After of a 503 that does not say otherwise. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

/** Problem `type` URIs: stable names, not links (RFC 9457 §3.1.1 allows non-resolvable URIs). */
export const problemType = (code: string): string => `urn:gunyah-emu:problem:${code}`;

/** An error a route or the VM agent throws; the error handler turns it into a problem response. */
export class ApiError extends Error {
  readonly extra: { field?: string; errors?: FieldError[]; headers?: Record<string, string> };

  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail: string,
    extra: ApiError['extra'] = {},
  ) {
    super(detail);
    // 503 means "try again" (an RM that did not answer in time, ERROR_RETRY): say when.
    this.extra = status === 503 && extra.headers?.['retry-after'] === undefined
      ? { ...extra, headers: { ...extra.headers, 'retry-after': String(DEFAULT_RETRY_AFTER_SECONDS) } }
      : extra;
  }

  static control(code: ControlCode, detail: string, extra: ApiError['extra'] = {}): ApiError {
    const p = CONTROL_PROBLEMS[code];
    return new ApiError(p.status, code, p.title, detail, extra);
  }

  /** A Gunyah hypercall error, e.g. ERROR_MSGQUEUE_FULL -> 409. */
  static gh(err: number, detail: string, extra: ApiError['extra'] = {}): ApiError {
    return ApiError.fromCore(ghErrorStatus(err), detail, extra);
  }

  /** A Resource Manager reply error, e.g. RM_ERROR_VM_STATE -> 409. */
  static rm(err: number, detail: string, extra: ApiError['extra'] = {}): ApiError {
    return ApiError.fromCore(rmErrorStatus(err), detail, extra);
  }

  private static fromCore(s: CoreErrorStatus, detail: string, extra: ApiError['extra']): ApiError {
    return new ApiError(s.status, s.code, STATUS_TITLES[s.status] ?? 'Error', detail, extra);
  }

  toProblem(instance: string): Problem {
    const p: Problem = {
      type: problemType(this.code), title: this.title, status: this.status, detail: this.message, instance, code: this.code,
    };
    if (this.extra.field !== undefined) p.field = this.extra.field;
    if (this.extra.errors !== undefined) p.errors = this.extra.errors;
    return p;
  }
}
