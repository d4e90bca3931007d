import type { Hex } from '../../base/bytes.js';
import type { LocationJson } from '../../xcm/location.js';
import type { Env } from '../substrate/runtime/context.js';

/**
 * The XCM message a call runs in, while a Transact dispatches it: pallets that answer over XCM
 * (the Phala chain's request origin) read its id. Keyed by the block's storage overlay, so chains
 * running in one process never see each other's messages.
 */

export type CurrentXcmMessage = { id: Hex; origin: LocationJson };

const stacks = new WeakMap<object, CurrentXcmMessage[]>();

export function withXcmMessage<T>(env: Env, message: CurrentXcmMessage, fn: () => T): T {
  let stack = stacks.get(env.storage);
  if (!stack) {
    stack = [];
    stacks.set(env.storage, stack);
  }
  stack.push(message);
  try {
    return fn();
  } finally {
    stack.pop();
  }
}

/** The innermost message being executed, or null outside XCM execution. */
export function currentXcmMessage(env: Env): CurrentXcmMessage | null {
  const stack = stacks.get(env.storage);
  return stack?.[stack.length - 1] ?? null;
}
