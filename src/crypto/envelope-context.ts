import { concatBytes, lengthPrefixed, u32be, utf8 } from '../base/bytes.js';
import { InvalidInputError } from '../base/errors.js';

/**
 * The `context` of each envelope purpose (docs/PROTOCOL.md §2): where the envelope may be used.
 * Variable-length parts are length-prefixed so that no two contexts share bytes.
 */

function fixed(bytes: Uint8Array, length: number, field: string): Uint8Array {
  if (bytes.length !== length) throw new InvalidInputError(field, `${length} bytes`);
  return bytes;
}

/**
 * Request input: origin key ‖ requester ‖ end user ‖ contract id ‖ response key. Beyond the design
 * sketch, the requester is bound so that a sealed input copied from someone else's request cannot
 * be resubmitted with the copier's response key, and the response key is bound so that a relayer
 * (untrusted) cannot swap in its own key and have the worker seal the answer to it: the worker
 * opens the input only with the response key the request really carries. The end user (the
 * account a consumer contract acts for, PROTOCOL §2 v1.1) is bound so that an input copied from
 * another account's call to the same consumer does not open for the copier. Where there is no
 * separate end user (a direct caller, Phala-style and XCM origins, direct queries) it is the
 * requester, which is the default here.
 */
export function requestContext(
  originKey: string,
  requester: Uint8Array,
  contractId: Uint8Array,
  responseKey: Uint8Array,
  endUser: Uint8Array = requester,
): Uint8Array {
  return concatBytes(
    lengthPrefixed(utf8(originKey)),
    lengthPrefixed(requester),
    lengthPrefixed(endUser),
    fixed(contractId, 32, 'contractId'),
    fixed(responseKey, 32, 'responseKey'),
  );
}

/** Sealed output: the request id it answers. */
export function outputContext(requestId: Uint8Array): Uint8Array {
  return fixed(requestId, 32, 'requestId');
}

/** Key handover: the receiving worker's X25519 public key ‖ key epoch. */
export function handoverContext(recipientX25519: Uint8Array, epoch: number): Uint8Array {
  return concatBytes(fixed(recipientX25519, 32, 'recipientX25519'), u32be(epoch));
}

/** Sealed contract state: contract id ‖ state version. */
export function stateContext(contractId: Uint8Array, version: bigint): Uint8Array {
  const v = new Uint8Array(8);
  new DataView(v.buffer).setBigUint64(0, version, false);
  return concatBytes(fixed(contractId, 32, 'contractId'), v);
}
