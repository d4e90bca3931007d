import { describe, expect, it } from 'vitest';
import { ApprovalCache, WorkerRevocations } from '../../src/relayer/approval-cache.js';

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

  it('refuses a revoked worker by name before any check or cached approval, until it is approved again', async () => {
    const revocations = new WorkerRevocations({ max: 2 });
    const cache = new ApprovalCache({ revocations });
    const worker = { address: '0xAbC0000000000000000000000000000000000001' };
    let asked = 0;
    const check = async () => {
      asked++;
      return true;
    };
    expect(await cache.verdict(worker, 'k', check)).toEqual({ approved: true });
    revocations.revoke(worker.address.toLowerCase(), 'Governance: compromised');
    expect(cache.revoked(worker)?.reason).toBe('WorkerRevoked');
    const refused = await cache.verdict(worker, 'k', check);
    expect(refused).toMatchObject({ approved: false, reason: 'WorkerRevoked' });
    expect(refused.approved === false && refused.detail).toMatch(/^WorkerRevoked: .*Governance: compromised/);
    expect(asked).toBe(1);
    revocations.reinstate(worker.address);
    expect(cache.revoked(worker)).toBeNull();
    expect(await cache.verdict(worker, 'k', check)).toEqual({ approved: true });
    expect(asked).toBe(2);
    expect(await cache.verdict(worker, 'k2', async () => false)).toMatchObject({
      reason: 'WorkerNotApproved',
    });
    // Bounded: the oldest mark goes first.
    for (const a of ['0x1', '0x2', '0x3']) revocations.revoke(a, 'r');
    expect([revocations.size, revocations.reasonFor('0x1'), revocations.reasonFor('0x3')]).toEqual([
      2,
      undefined,
      'r',
    ]);
  });
});
