// What can go wrong in gunyahctl, each with the exit code scripts see. The table is also the `--help` text, so
// the documentation and the behaviour cannot drift apart.

export const EXIT = {
  OK: 0,
  API_ERROR: 1,
  USAGE: 2,
  CANNOT_CONNECT: 3,
  NOT_FOUND: 4,
} as const;

export const EXIT_CODES_HELP = [
  'Exit codes:',
  `  ${EXIT.OK}  success`,
  `  ${EXIT.API_ERROR}  the API refused the request (its problem code is printed, e.g. VM_STATE_CONFLICT)`,
  `  ${EXIT.USAGE}  usage error (unknown command or option, bad argument)`,
  `  ${EXIT.CANNOT_CONNECT}  cannot connect to gunyahd`,
  `  ${EXIT.NOT_FOUND}  not found: no such VM, capability or route (HTTP 404, or no VM of that name)`,
].join('\n');

/** An error gunyahctl reports on stderr and turns into its exit code. */
export abstract class CliError extends Error {
  abstract readonly exitCode: number;

  /** The message as printed after "gunyahctl: ". */
  override toString(): string {
    return this.message;
  }
}

export class UsageError extends CliError {
  readonly exitCode = EXIT.USAGE;
}

export class ConnectError extends CliError {
  readonly exitCode = EXIT.CANNOT_CONNECT;

  constructor(target: string, cause: string) {
    super(`cannot connect to gunyahd at ${target} (${cause}); is it running? (--url, --socket, GUNYAH_URL, GUNYAH_SOCKET)`);
  }
}

export interface ProblemFields {
  code: string;
  title: string;
  detail: string;
  field?: string;
  retryAfter?: string;
}

/** An application/problem+json answer (product brief, "REST API"). */
export class ApiProblem extends CliError {
  readonly exitCode: number;

  constructor(readonly request: string, readonly status: number, readonly problem: ProblemFields) {
    super(problem.detail);
    this.exitCode = status === 404 ? EXIT.NOT_FOUND : EXIT.API_ERROR;
  }

  /** `VM_NOT_FOUND: no VM has VMID 77 (HTTP 404: No VM with this VMID)`, then the field and Retry-After when given. */
  override toString(): string {
    const { code, title, detail, field, retryAfter } = this.problem;
    const lines = [`${code}: ${detail || title} (HTTP ${this.status}${detail && title ? `: ${title}` : ''})`];
    if (field !== undefined) lines.push(`  field: ${field}`);
    if (retryAfter !== undefined) lines.push(`  retry after ${retryAfter} s`);
    return lines.join('\n');
  }
}

/** A name the CLI looked up and did not find (a VM name). Printed like an API problem, with the code it would have. */
export class NotFound extends CliError {
  readonly exitCode = EXIT.NOT_FOUND;

  constructor(readonly code: string, detail: string) {
    super(detail);
  }

  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}
