import type { Hex } from '../../src/base/bytes.js';
import type { ContractEngine, RunContractParameters } from '../../src/pruntime/engine/engine.js';
import type { SandboxFailure, SandboxOutcome, SandboxSuccess } from '../../src/pruntime/engine/sandbox.js';

export const REQUEST_ID = `0x${'11'.repeat(32)}` as Hex;
export const SEED = new Uint8Array(32).fill(7);

export function call(engine: ContractEngine, code: string, extra: Partial<RunContractParameters> = {}) {
  return engine.run({ code, input: new Uint8Array(0), requestId: REQUEST_ID, randomSeed: SEED, ...extra });
}

export function expectOk(outcome: SandboxOutcome): SandboxSuccess {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`);
  return outcome;
}

export function expectFailure(outcome: SandboxOutcome): SandboxFailure {
  if (outcome.ok) throw new Error(`expected a failure, got public ${Buffer.from(outcome.public).toString()}`);
  return outcome;
}

export const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
