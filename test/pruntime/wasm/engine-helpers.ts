import type { ContractEngine, RunContractParameters } from '../../../src/pruntime/engine/engine.js';
import { REQUEST_ID, SEED } from '../helpers.js';

type Wabt = { parseWat(name: string, text: string): { toBinary(o: object): { buffer: Uint8Array } } };
let wabt: Wabt | null = null;

/** A WebAssembly module from its text format (wabt, a devDependency). */
export async function wat(text: string): Promise<Uint8Array> {
  wabt ??= (await (await import('wabt')).default()) as unknown as Wabt;
  return new Uint8Array(wabt.parseWat('contract.wat', text).toBinary({}).buffer);
}

/** One engine call of a module, with the shared test request id and seed. */
export function callWasm(
  engine: ContractEngine,
  code: Uint8Array,
  extra: Partial<RunContractParameters> = {},
) {
  return engine.run({ code, input: new Uint8Array(0), requestId: REQUEST_ID, randomSeed: SEED, ...extra });
}

/** The ten host imports, as a WAT prelude. */
export const IMPORTS = `
  (import "phala" "input" (func $input (param i32 i32) (result i32)))
  (import "phala" "context" (func $context (param i32 i32 i32) (result i32)))
  (import "phala" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "phala" "state_set" (func $state_set (param i32 i32 i32 i32)))
  (import "phala" "state_delete" (func $state_delete (param i32 i32) (result i32)))
  (import "phala" "output" (func $output (param i32 i32 i32 i32)))
  (import "phala" "log" (func $log (param i32 i32)))
  (import "phala" "hash" (func $hash (param i32 i32 i32 i32)))
  (import "phala" "random" (func $random (param i32 i32)))
  (import "phala" "fail" (func $fail (param i32 i32)))`;

/** A module whose `handle` outputs nothing but does `body` first (hostile tests). */
export function handleDoing(body: string, extra = ''): string {
  return `(module ${IMPORTS}
  (memory (export "memory") 1)
  ${extra}
  (func (export "handle") ${body}
    (call $output (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))))`;
}
