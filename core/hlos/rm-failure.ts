// Why an RM call did not succeed, as a value (nothing throws out of the core). Either the RM answered with an error
// word (spec §3.3, §9.3), or the transport gave up: the REST layer maps `timeout` and `closed` to 503, `aborted` to
// the client having gone away, and the others to a 502-like fault of the emulated RM.
import { ghErrorName } from '../abi/errors.js';
import { rmErrorName, rmMessageName } from '../abi/rm.js';

export type RmFailureReason =
  /** The RM replied with a non-OK error word; `rmError` holds it. */
  | 'rm_error'
  /** No complete reply before the call's deadline. */
  | 'timeout'
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** A hypercall on the RM link failed (`ghError`), e.g. the queue's capability is gone. */
  | 'transport'
  /** The reply was cut short (a partial reply superseded, spec §9.2) or its data did not decode. */
  | 'bad_reply'
  /** The request could not be encoded (a value out of range, a payload over the RPC maximum). */
  | 'refused'
  /** The client was closed while the call was pending. */
  | 'closed';

export class RmFailure {
  constructor(
    readonly reason: RmFailureReason,
    /** The request's message ID (spec §9.4). */
    readonly msgId: number,
    readonly detail: string,
    /** The RM error word when reason is `rm_error` (spec §3.3), else null. */
    readonly rmError: number | null = null,
    /** The hypervisor error when reason is `transport`, else null. */
    readonly ghError: number | null = null,
  ) {}

  /** `RM_ERROR_<NAME>` for RM errors, else the transport reason (`timeout`, ...). */
  get code(): string {
    return this.rmError !== null ? rmErrorName(this.rmError) : this.reason;
  }

  get message(): string {
    return `${rmMessageName(this.msgId)}: ${this.code}${this.detail ? ` (${this.detail})` : ''}`;
  }

  static rm(msgId: number, rmError: number): RmFailure {
    return new RmFailure('rm_error', msgId, '', rmError >>> 0);
  }

  static transport(msgId: number, ghError: number, what: string): RmFailure {
    return new RmFailure('transport', msgId, `${what} returned ${ghErrorName(ghError)}`, null, ghError);
  }
}

export const isRmFailure = (r: unknown): r is RmFailure => r instanceof RmFailure;
