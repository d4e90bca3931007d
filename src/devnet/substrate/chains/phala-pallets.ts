import type { Pallet } from '../runtime/pallet.js';
import type { RuntimeRefs } from '../runtime/refs.js';

/** The Phala pallets at their indices (filled in as the pallets land). */
export function phalaPallets(_refs: RuntimeRefs): { index: number; pallet: Pallet }[] {
  return [];
}
