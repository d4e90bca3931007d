import { BaseError, type Retry } from '../../base/errors.js';
import type { ContractErrorCode } from './errors.js';
import type { CallLimits } from './limits.js';
import type { CallKind, SandboxFailure, SandboxOutcome } from './sandbox.js';
import type { ContractState } from './state.js';

/**
 * How a call of either contract kind ends (docs/pruntime.md#limits-and-errors): the rules the
 * QuickJS sandbox and the WebAssembly runner share, so both kinds end the same call the same way.
 */

/**
 * A contract call ending early by its own doing (out of gas, state too large, `fail`): thrown
 * from a host function back to the engine, which turns it into the call's outcome.
 */
export class ContractFailure extends BaseError {
  /** The same call does the same. */
  static override readonly retry: Retry = 'never';
  override name = 'ContractFailure';
  constructor(
    readonly code: ContractErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function failure(
  code: ContractErrorCode,
  message: string,
  gasUsed: number,
  logs: string[],
): SandboxFailure {
  return { ok: false, error: { code, message }, gasUsed, logs };
}

/** The log lines of a call in progress and their bytes so far. */
export type CallLog = { logs: string[]; logBytes: number };

/** Keeps a log line within the call's log limit; past it one marker line, never an error. */
export function appendLog(log: CallLog, line: string, limitBytes: number): void {
  if (log.logBytes + line.length <= limitBytes) {
    log.logs.push(line);
    log.logBytes += line.length;
  } else if (log.logBytes < limitBytes) {
    log.logs.push('… (log limit reached)');
    log.logBytes = limitBytes;
  }
}

export type CallResult = { public: Uint8Array; sealed: Uint8Array };

/**
 * The outcome of a call that ran to its end: its result checked against the output limits, and
 * the state it leaves (the input state unchanged unless a request changed it).
 */
export function resultOutcome(p: {
  kind: CallKind;
  result: CallResult | null;
  limits: CallLimits;
  /** The state as the call left it, and the canonical state it was given (null for none). */
  state: ContractState;
  inputState: Uint8Array | null;
  stateChanged: boolean;
  gasUsed: number;
  log: CallLog;
}): SandboxOutcome {
  const { result, limits, gasUsed, log } = p;
  if (!result) return failure('InvalidResult', 'the call produced no result', gasUsed, log.logs);
  for (const part of ['public', 'sealed'] as const)
    if (result[part].length > limits.outputBytes)
      return failure(
        'OutputTooLarge',
        `${part} output is longer than ${limits.outputBytes} bytes`,
        gasUsed,
        log.logs,
      );
  const stateChanged = p.kind === 'handle' && p.stateChanged;
  return {
    ok: true,
    public: result.public,
    sealed: result.sealed,
    state: stateChanged ? p.state.serialize() : (p.inputState ?? p.state.serialize()),
    stateChanged,
    gasUsed,
    logs: log.logs,
  };
}
