import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/base/errors.js';
import { parseFulfillmentInput, parseRequestRef } from '../../src/evm/schemas.js';
import { fulfillResultName } from '../../src/evm/types.js';
import {
  isLogRangeError,
  isNonceTooLowError,
  isReplacementUnderpricedError,
} from '../../src/evm/rpc-errors.js';
import { bumpedFees, initialFees } from '../../src/evm/submitter/fees.js';

const ref = {
  requestId: `0x${'11'.repeat(32)}`,
  contractId: `0x${'22'.repeat(32)}`,
  requester: `0x${'ab'.repeat(20)}`,
  callbackGasLimit: 100_000,
  deadline: '1900000000',
};

describe('queue payload checks', () => {
  it('parses a valid fulfillment and normalises its fields', () => {
    const f = parseFulfillmentInput({
      request: ref,
      publicOutput: '0x',
      sealedOutput: '0x0102',
      stateRoot: ref.requestId,
    });
    expect(f.request.deadline).toBe(1_900_000_000n);
    expect(f.request.requester).toBe('0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB');
  });

  it('names every bad field in one InvalidInputError', () => {
    const bad = { ...ref, requestId: '0x1234', callbackGasLimit: -1, deadline: '2'.repeat(30), extra: 1 };
    const error = (() => {
      try {
        parseRequestRef(bad);
      } catch (e) {
        return e;
      }
    })() as InvalidInputError;
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.details).toMatch(/request\.requestId/);
    expect(error.details).toMatch(/request\.callbackGasLimit/);
    expect(error.details).toMatch(/request\.deadline/);
    expect(error.details).toMatch(/extra/);
    expect(() =>
      parseFulfillmentInput({
        request: ref,
        publicOutput: '0x1',
        sealedOutput: '0x',
        stateRoot: ref.requestId,
      }),
    ).toThrow(InvalidInputError);
  });

  it('knows every FulfillResult code and refuses unknown ones', () => {
    expect([0, 1, 2, 3, 4, 5].map(fulfillResultName)).toEqual([
      'Delivered',
      'CallbackFailed',
      'NotPending',
      'CommitmentMismatch',
      'Expired',
      'WorkerNotAuthorized',
    ]);
    expect(() => fulfillResultName(6)).toThrow(RangeError);
  });
});

describe('provider error classification', () => {
  it('recognises the usual phrasings of range limits and nonce conflicts', () => {
    for (const m of [
      'query returned more than 10000 results',
      'eth_getLogs is limited to a 10,000 range',
      'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range',
      'block range is too wide',
      'exceed maximum block range: 5000',
    ])
      expect(isLogRangeError(new Error(m)), m).toBe(true);
    expect(isLogRangeError(new Error('execution reverted'))).toBe(false);
    expect(isNonceTooLowError(new Error('Nonce too low. Expected nonce to be 5 but got 4.'))).toBe(true);
    expect(
      isNonceTooLowError({ message: 'x', cause: { details: 'nonce too low: next nonce 7, tx nonce 6' } }),
    ).toBe(true);
    expect(isReplacementUnderpricedError(new Error('replacement transaction underpriced'))).toBe(true);
  });
});

describe('fees', () => {
  const policy = { maxFeePerGasCap: 100n, bumpPercent: 15 };
  it('starts at twice the base fee plus the tip, under the cap', () => {
    expect(initialFees(10n, 2n, policy)).toEqual({ maxFeePerGas: 22n, maxPriorityFeePerGas: 2n });
    expect(initialFees(60n, 2n, policy)).toEqual({ maxFeePerGas: 100n, maxPriorityFeePerGas: 2n });
    expect(() => initialFees(101n, 2n, policy)).toThrow(/below the current base fee/);
  });

  it('bumps both fees by at least 10% for a replacement, and stops at the cap', () => {
    const bumped = bumpedFees({ maxFeePerGas: 40n, maxPriorityFeePerGas: 10n }, 10n, policy)!;
    expect(bumped.maxFeePerGas).toBeGreaterThanOrEqual(44n);
    expect(bumped.maxPriorityFeePerGas).toBeGreaterThanOrEqual(11n);
    expect(bumpedFees({ maxFeePerGas: 95n, maxPriorityFeePerGas: 10n }, 10n, policy)).toBeNull();
  });
});
