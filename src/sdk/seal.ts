import { type Hex, fromHex, toHex } from '../base/bytes.js';
import type { InvalidInputError } from '../base/errors.js';
import { type EnvelopeOpenError, openEnvelope, sealEnvelope } from '../crypto/envelope.js';
import { outputContext, requestContext } from '../crypto/envelope-context.js';
import { generateKeyPair } from '../crypto/keys.js';
import { type Origin, originKey } from '../protocol/origin.js';

export type SealInputParameters = {
  /** The contract's published X25519 public key (on the Phala-style chain, or the gateway). */
  contractPublicKey: Hex | Uint8Array;
  contractId: Hex;
  origin: Origin;
  /** Who sends the request: 20-byte EVM address, 32-byte account, or SCALE-encoded XCM location. */
  requester: Hex;
  /**
   * Who the request is for: on EVM, the account that sends the transaction to a consumer contract
   * (which passes it to the gateway as `endUser`). Default: the requester, which is right for a
   * direct caller of the gateway and for Phala-style and XCM origins.
   */
  endUser?: Hex;
  /** The public half of the response key the request will carry (see `createResponseKey`). */
  responseKey: Hex;
  input: Uint8Array | string;
};

/** The sealed input (an envelope, PROTOCOL §2). */
export type SealInputReturnType = Hex;
/** A key, id or requester that is not the hex it should be. */
export type SealInputErrorType = InvalidInputError | Error;

/**
 * Seals a request input so that only the contract's workers can read it, and only for this
 * requester, end user and response key (PROTOCOL §2).
 */
export function sealInput(parameters: SealInputParameters): SealInputReturnType {
  const key =
    typeof parameters.contractPublicKey === 'string'
      ? fromHex(parameters.contractPublicKey, 'contractPublicKey', 32)
      : parameters.contractPublicKey;
  const input =
    typeof parameters.input === 'string' ? new TextEncoder().encode(parameters.input) : parameters.input;
  return toHex(
    sealEnvelope({
      recipientPublicKey: key,
      purpose: 'request',
      context: requestContext(
        originKey(parameters.origin),
        fromHex(parameters.requester, 'requester'),
        fromHex(parameters.contractId, 'contractId', 32),
        fromHex(parameters.responseKey, 'responseKey', 32),
        fromHex(parameters.endUser ?? parameters.requester, 'endUser'),
      ),
      plaintext: input,
    }),
  );
}

export type CreateResponseKeyReturnType = { secretKey: Hex; publicKey: Hex };

/** A fresh response key pair: the public half goes in the request, the secret half opens the answer. */
export function createResponseKey(): CreateResponseKeyReturnType {
  const pair = generateKeyPair('x25519');
  return { secretKey: toHex(pair.secretKey), publicKey: toHex(pair.publicKey) };
}

export type OpenOutputParameters = {
  sealedOutput: Hex;
  /** The secret half of the request's response key. */
  responseSecretKey: Hex;
  requestId: Hex;
};
export type OpenOutputReturnType = Uint8Array;
/** EnvelopeOpenError: another key, another request, or tampered bytes. */
export type OpenOutputErrorType = EnvelopeOpenError | InvalidInputError | Error;

/** Opens a sealed output with the response key's secret half; throws EnvelopeOpenError otherwise. */
export function openOutput(parameters: OpenOutputParameters): OpenOutputReturnType {
  return openEnvelope({
    recipientSecretKey: fromHex(parameters.responseSecretKey, 'responseSecretKey', 32),
    purpose: 'output',
    context: outputContext(fromHex(parameters.requestId, 'requestId', 32)),
    envelope: fromHex(parameters.sealedOutput, 'sealedOutput'),
  });
}
