import { keccak_256 } from '@noble/hashes/sha3.js';
import type { WasmImports, WasmMemory } from './wasm-api.js';
import { blake2_256, sha256 } from '../../crypto/hash.js';
import { GAS_PER_HOST_CALL, MAX_RANDOM_BYTES } from '../engine/sandbox.js';
import { MAX_KEY_BYTES } from '../engine/state.js';
import { HOST_MODULE } from './host-interface.js';
import { FUEL_PER_GAS } from './limits.js';
import { ContractFailure } from '../engine/call-outcome.js';
import type { WasmCall } from './wasm-call.js';

/**
 * The `"phala"` imports of docs/wasm-host-interface.md#host-functions. They are bound once per
 * instance and read the call in progress from `binding`, so an instance is reused call after call
 * without new closures. Every function charges its gas (GAS_PER_HOST_CALL plus the bytes it
 * moves) from the instance's fuel before doing anything, and ends the call by throwing a
 * ContractFailure.
 */
export type HostBinding = {
  /** The call in progress; null while the start function runs (host calls are refused then). */
  call: WasmCall | null;
  memory: WasmMemory | null;
  fuelGet: (() => bigint) | null;
  fuelSet: ((fuel: bigint) => void) | null;
};

const MAX_MESSAGE_CHARS = 500;
const HASHES: readonly ((data: Uint8Array) => Uint8Array)[] = [blake2_256, keccak_256, sha256];
const lenient = new TextDecoder('utf-8');

export function newBinding(): HostBinding {
  return { call: null, memory: null, fuelGet: null, fuelSet: null };
}

export function hostImports(binding: HostBinding): WasmImports {
  const callOf = (name: string): WasmCall => {
    if (!binding.call)
      throw new ContractFailure('InvalidContract', `the start function called phala.${name}`);
    return binding.call;
  };
  const charge = (gas: number): void => {
    const fuel = binding.fuelGet!() - BigInt(gas * FUEL_PER_GAS);
    binding.fuelSet!(fuel);
    if (fuel < 0n) throw new ContractFailure('OutOfGas', 'out of gas in a host function');
  };
  /** The memory as bytes, after checking `ptr..ptr+len` lies inside it. */
  const memoryFor = (name: string, ptr: number, len: number): Uint8Array => {
    const bytes = new Uint8Array(binding.memory!.buffer);
    if ((ptr >>> 0) + (len >>> 0) > bytes.length)
      throw new ContractFailure(
        'ContractThrew',
        `phala.${name}: bytes ${ptr >>> 0}..${(ptr >>> 0) + (len >>> 0)} are outside the memory (${bytes.length} bytes)`,
      );
    return bytes;
  };
  const read = (name: string, ptr: number, len: number): Uint8Array =>
    memoryFor(name, ptr, len).slice(ptr >>> 0, (ptr >>> 0) + (len >>> 0));
  /** The `(ptr, cap) -> len` convention: copies `value` only when it fits in `cap`. */
  const give = (name: string, value: Uint8Array, ptr: number, cap: number, gas = 0): number => {
    const fits = value.length <= cap >>> 0;
    charge(GAS_PER_HOST_CALL + gas + (fits ? value.length : 0));
    if (fits) memoryFor(name, ptr, value.length).set(value, ptr >>> 0);
    return value.length;
  };
  const key = (name: string, ptr: number, len: number): Uint8Array => {
    const length = len >>> 0;
    if (length === 0 || length > MAX_KEY_BYTES)
      throw new ContractFailure('ContractThrew', `phala.${name}: state keys are 1 to ${MAX_KEY_BYTES} bytes`);
    return read(name, ptr, length);
  };
  const writable = (name: string, call: WasmCall): void => {
    if (call.request.kind !== 'handle')
      throw new ContractFailure('ContractThrew', `phala.${name}: state is read-only in a query`);
  };

  const phala = {
    input(ptr: number, cap: number): number {
      const call = callOf('input');
      return give('input', call.request.input, ptr, cap);
    },
    context(field: number, ptr: number, cap: number): number {
      const call = callOf('context');
      const value = call.context(field);
      if (!value) {
        charge(GAS_PER_HOST_CALL);
        return -1;
      }
      return give('context', value, ptr, cap);
    },
    state_get(kptr: number, klen: number, vptr: number, vcap: number): number {
      const call = callOf('state_get');
      const k = key('state_get', kptr, klen);
      const entry = call.state.get(k);
      if (!entry) {
        charge(GAS_PER_HOST_CALL + k.length);
        return -1;
      }
      return give('state_get', entry.value, vptr, vcap, k.length);
    },
    state_set(kptr: number, klen: number, vptr: number, vlen: number): void {
      const call = callOf('state_set');
      writable('state_set', call);
      const k = key('state_set', kptr, klen);
      memoryFor('state_set', vptr, vlen);
      charge(GAS_PER_HOST_CALL + k.length + (vlen >>> 0));
      const limit = call.request.limits.stateBytes;
      if (call.state.sizeAfterSet(k, vlen >>> 0) > limit)
        throw new ContractFailure('StateTooLarge', `state would be larger than ${limit} bytes`);
      call.state.set(k, 'bytes', read('state_set', vptr, vlen));
      call.stateChanged = true;
    },
    state_delete(kptr: number, klen: number): number {
      const call = callOf('state_delete');
      writable('state_delete', call);
      const k = key('state_delete', kptr, klen);
      charge(GAS_PER_HOST_CALL + k.length);
      const deleted = call.state.delete(k);
      if (deleted) call.stateChanged = true;
      return deleted ? 1 : 0;
    },
    output(pptr: number, plen: number, sptr: number, slen: number): void {
      const call = callOf('output');
      memoryFor('output', pptr, plen);
      memoryFor('output', sptr, slen);
      charge(GAS_PER_HOST_CALL + (plen >>> 0) + (slen >>> 0));
      call.result = { public: read('output', pptr, plen), sealed: read('output', sptr, slen) };
    },
    log(ptr: number, len: number): void {
      const call = callOf('log');
      memoryFor('log', ptr, len);
      charge(GAS_PER_HOST_CALL + (len >>> 0));
      call.log(lenient.decode(read('log', ptr, len)));
    },
    hash(alg: number, ptr: number, len: number, out: number): void {
      callOf('hash');
      const fn = HASHES[alg];
      if (!fn) throw new ContractFailure('ContractThrew', `phala.hash: unknown algorithm ${alg}`);
      memoryFor('hash', ptr, len);
      memoryFor('hash', out, 32);
      charge(GAS_PER_HOST_CALL + (len >>> 0) + 32);
      const digest = fn(read('hash', ptr, len));
      memoryFor('hash', out, 32).set(digest, out >>> 0);
    },
    random(ptr: number, len: number): void {
      const call = callOf('random');
      const length = len >>> 0;
      if (length > MAX_RANDOM_BYTES)
        throw new ContractFailure(
          'ContractThrew',
          `phala.random: at most ${MAX_RANDOM_BYTES} bytes at a time`,
        );
      const memory = memoryFor('random', ptr, length);
      charge(GAS_PER_HOST_CALL + length);
      memory.set(call.random.next(length), ptr >>> 0);
    },
    fail(ptr: number, len: number): never {
      callOf('fail');
      memoryFor('fail', ptr, len);
      charge(GAS_PER_HOST_CALL + (len >>> 0));
      const message = lenient.decode(read('fail', ptr, len)).slice(0, MAX_MESSAGE_CHARS);
      throw new ContractFailure('ContractThrew', message);
    },
  };
  return { [HOST_MODULE]: phala };
}
