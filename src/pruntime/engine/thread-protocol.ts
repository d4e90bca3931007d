import type { EngineFailureReason } from './errors.js';
import type { WasmRunnerStats } from '../wasm/wasm-runner.js';
import type { SandboxCall, SandboxOptions, SandboxOutcome, SandboxStats } from './sandbox.js';

/** Messages between ContractEngine (engine.ts) and its threads (thread.ts). */
export type ThreadInit = {
  options: Required<Pick<SandboxOptions, 'memoryBytes' | 'stackBytes'>> & SandboxOptions;
};

/** A thread's counters: its QuickJS sandbox's, and its WebAssembly runner's under `wasm`. */
export type EngineStats = SandboxStats & { wasm: WasmRunnerStats };

export type ToThread =
  | { type: 'call'; id: number; call: SandboxCall }
  | { type: 'stats'; id: number }
  | { type: 'close' };

export type FromThread =
  | { type: 'ready'; memoryBytes: number }
  | { type: 'fatal'; message: string }
  | { type: 'outcome'; id: number; outcome: SandboxOutcome }
  | { type: 'failure'; id: number; reason: EngineFailureReason; message: string }
  | { type: 'invalid'; id: number; field: string; expected: string }
  | { type: 'stats'; id: number; stats: EngineStats };
