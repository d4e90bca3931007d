import { describe, expect, it } from 'vitest';
import { ApprovalCache } from '../../src/relayer/approval-cache.js';

describe('ApprovalCache', () => {
  it('remembers approvals for its window only, and never remembers a refusal', async () => {
    let now = 1_000;
    const cache = new ApprovalCache({ ttlMs: 5_000, now: () => now });
    let asked = 0;
    let answer = true;
    const check = async () => {
      asked++;
      return answer;
    };
    expect(await cache.isApproved('w', check)).toBe(true);
    expect(await cache.isApproved('w', check)).toBe(true);
    expect(asked).toBe(1);
    now += 5_001;
    answer = false;
    expect(await cache.isApproved('w', check)).toBe(false);
    expect(await cache.isApproved('w', check)).toBe(false);
    expect(asked).toBe(3);
    answer = true;
    expect(await cache.isApproved('other', check)).toBe(true);
    expect(asked).toBe(4);
  });
});
