export { WasmModuleRefusedError, type WasmRefusalReason } from './errors.js';
export {
  HOST_FUNCTIONS,
  HOST_MODULE,
  type HostFunctionSignature,
  type WasmValType,
  isHostFunctionName,
} from './host-interface.js';
export { type InstrumentOptions, type InstrumentedModule, instrumentModule } from './instrument.js';
export {
  FRAME_UNIT_BYTES,
  FUEL_PER_BULK_BYTES,
  FUEL_PER_GAS,
  GAS_PER_PAGE,
  MAX_START_GAS,
  WASM_LIMITS,
} from './limits.js';
