import { describe, expect, it } from 'vitest';
import { simulateFirst } from '../../src/relayer/chains/evm-destination.js';

// Issue 15: which EVM transactions are simulated at their gas bound before they are sent. A
// signed worker batch cannot make the gateway revert on a first attempt (its items are skipped
// one by one), so it goes straight out; anything that can revert is tried first.
const SIG = '0x01' as const;
const rows: {
  case: string;
  batches: { signature: `0x${string}` | null; attempt: number }[];
  simulate: boolean;
}[] = [
  {
    case: 'one signed batch, first attempt → sent as priced',
    batches: [{ signature: SIG, attempt: 0 }],
    simulate: false,
  },
  {
    case: 'three workers’ signed batches, first attempt → sent as priced',
    batches: [
      { signature: SIG, attempt: 0 },
      { signature: SIG, attempt: 0 },
      { signature: SIG, attempt: 0 },
    ],
    simulate: false,
  },
  {
    case: 'a single answer (fulfill reverts for its own faults) → simulated',
    batches: [{ signature: null, attempt: 0 }],
    simulate: true,
  },
  {
    case: 'a signed batch back from a revert → simulated',
    batches: [{ signature: SIG, attempt: 1 }],
    simulate: true,
  },
  {
    case: 'one batch back from a revert beside first attempts → simulated',
    batches: [
      { signature: SIG, attempt: 0 },
      { signature: SIG, attempt: 2 },
    ],
    simulate: true,
  },
];

describe('simulateFirst (EVM destination: simulated at the gas bound before sending?)', () => {
  it.each(rows)('$case', ({ batches, simulate }) => {
    expect(simulateFirst(batches)).toBe(simulate);
  });
});
