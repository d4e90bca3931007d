import { describe, expect, it } from 'vitest';
import { trackerEventsFromSubstrate } from '../../src/xcm/tracker/substrate-events.js';

/** Failure reasons: ProcessXcmError and the devnet's TransactDispatchFailed fold into the outcome of their id. */

const ID = `0x${'ab'.repeat(32)}`;
const OTHER = `0x${'cd'.repeat(32)}`;
const weightUsed = { refTime: '1000', proofSize: '10' };

describe('tracker events: failure reasons', () => {
  it('gives a failed Processed the XCM error and the failed call of the same message', () => {
    const events = trackerEventsFromSubstrate(
      [
        {
          section: 'polkadotXcm',
          method: 'TransactDispatchFailed',
          data: { messageId: ID, index: 3, error: 'PhalaContracts.ContractNotFound' },
        },
        {
          section: 'polkadotXcm',
          method: 'ProcessXcmError',
          data: { messageId: ID, error: 'ExpectationFalse', origin: {} },
        },
        {
          section: 'messageQueue',
          method: 'Processed',
          data: { id: ID, origin: { Sibling: 2000 }, weightUsed, success: false },
        },
        {
          section: 'messageQueue',
          method: 'Processed',
          data: { id: OTHER, origin: 'Parent', weightUsed, success: false },
        },
      ],
      { chain: 'phala' },
    );
    expect(events).toEqual([
      expect.objectContaining({
        kind: 'processed',
        id: ID,
        success: false,
        from: 'Sibling(2000)',
        error: 'ExpectationFalse: Transact (instruction 3) failed: PhalaContracts.ContractNotFound',
      }),
      expect.objectContaining({
        kind: 'processed',
        id: OTHER,
        error: 'execution failed (Processed with success = false)',
      }),
    ]);
  });

  it('adds the XCM error to ProcessingFailed (a barrier refusal), and ignores it on success', () => {
    const events = trackerEventsFromSubstrate(
      [
        {
          section: 'xcmPallet',
          method: 'ProcessXcmError',
          data: { messageId: ID, error: { barrier: null } },
        },
        {
          section: 'messageQueue',
          method: 'ProcessingFailed',
          data: { id: ID, origin: { Ump: { Para: 2000 } }, error: 'Unsupported' },
        },
        {
          section: 'messageQueue',
          method: 'Processed',
          data: { id: OTHER, origin: 'Parent', weightUsed, success: true },
        },
      ],
      { chain: 'relay' },
    );
    expect(events[0]).toMatchObject({
      kind: 'processed',
      id: ID,
      success: false,
      error: 'Unsupported (Barrier)',
      from: 'Ump(Para(2000))',
    });
    expect(events[1]).toMatchObject({ kind: 'processed', id: OTHER, success: true });
    expect(events[1]).not.toHaveProperty('error');
  });
});
