import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContractEngine, type RunContractParameters } from '../../src/pruntime/engine/engine.js';
import { FairScheduler, shareFor } from '../../src/pruntime/engine/scheduler.js';
import { Admission } from '../../src/pruntime/worker/admission.js';

/**
 * The engine's fair-share scheduler (src/pruntime/engine/scheduler.ts), alone and inside a real
 * two-thread engine: one contract's burst never holds every thread, tenants are served
 * round-robin, and a call past the wall-clock watchdog ends as the contract's `OutOfGas`.
 */

/** Takes calls from the scheduler until it gives none, as the engine would start them. */
function startAll<T>(s: FairScheduler<T>): { tenant: string; item: T }[] {
  const started: { tenant: string; item: T }[] = [];
  for (let next = s.next(); next; next = s.next()) started.push(next);
  return started;
}

describe('fair-share scheduler', () => {
  it('gives each tenant ceil(slots / active) slots, at least 1, and one slot to spare when there are several', () => {
    expect(shareFor(1, 1)).toBe(1);
    expect(shareFor(1, 5)).toBe(1);
    expect(shareFor(2, 1)).toBe(1);
    expect(shareFor(2, 2)).toBe(1);
    expect(shareFor(4, 1)).toBe(3);
    expect(shareFor(4, 2)).toBe(2);
    expect(shareFor(4, 3)).toBe(2);
    expect(shareFor(8, 3)).toBe(3);
    expect(shareFor(8, 100)).toBe(1);
  });

  it('never lets one tenant burst take the slot another tenant needs', () => {
    const s = new FairScheduler<string>(2);
    for (let i = 0; i < 8; i++) s.enqueue('burn', `burn-${i}`);
    expect(startAll(s).map((x) => x.item)).toEqual(['burn-0']);
    expect(s.backlog('burn')).toBe(8);
    s.enqueue('greeter', 'hello');
    // The greeter starts at once, on the slot the burst was not allowed to hold.
    expect(startAll(s)).toEqual([{ tenant: 'greeter', item: 'hello' }]);
    s.done('greeter');
    expect(s.activeTenants).toBe(1);
    s.done('burn');
    expect(startAll(s).map((x) => x.item)).toEqual(['burn-1']);
  });

  it('serves tenants round-robin, in arrival order within each', () => {
    const s = new FairScheduler<string>(4);
    for (const t of ['a', 'b', 'c']) for (let i = 0; i < 3; i++) s.enqueue(t, `${t}${i}`);
    // Three tenants on four slots: a share of two each, four slots in all.
    expect(startAll(s).map((x) => x.item)).toEqual(['a0', 'b0', 'c0', 'a1']);
    s.done('a');
    s.done('b');
    expect(startAll(s).map((x) => x.item)).toEqual(['b1', 'c1']);
    s.done('c');
    s.done('c');
    // The turn is a's (c was served last), then b's; c waits for the next free slot.
    expect(startAll(s).map((x) => x.item)).toEqual(['a2', 'b2']);
    s.done('a');
    expect(startAll(s).map((x) => x.item)).toEqual(['c2']);
    expect(s.running).toBe(4);
  });

  it('recomputes the share as tenants come and go, and drains queued calls on close', () => {
    const s = new FairScheduler<number>(4);
    for (let i = 0; i < 6; i++) s.enqueue('solo', i);
    expect(startAll(s)).toHaveLength(3);
    expect(s.shareOf('other')).toBe(2);
    s.enqueue('other', 100);
    expect(startAll(s).map((x) => x.item)).toEqual([100]);
    expect(s.drain()).toEqual([3, 4, 5]);
    expect(s.backlog('solo')).toBe(3);
    expect(() => s.done('nobody')).toThrow(RangeError);
  });
});

describe("the worker's admission (queue slots and queries per contract)", () => {
  it('holds each tenant to its share and everyone to the total, and frees a place once', () => {
    const admission = new Admission((tenant) => (tenant === 'big' ? 2 : 1), { maxTotal: 3 });
    const a = admission.enter('big');
    const b = admission.enter('big');
    expect(a.ok && b.ok).toBe(true);
    expect(admission.enter('big')).toEqual({ ok: false, why: 'tenant' });
    const c = admission.enter('small');
    expect(c.ok).toBe(true);
    expect(admission.enter('other')).toEqual({ ok: false, why: 'total' });
    if (!a.ok) return;
    a.release();
    a.release();
    expect(admission.total).toBe(2);
    expect(admission.enter('big').ok).toBe(true);
    expect(admission.enter('other')).toEqual({ ok: false, why: 'total' });
  });

  it("shares the worker's concurrency among the contracts holding jobs, one queue slot kept spare", () => {
    // The worker's rule (service.ts) for concurrency 7 (8 queue slots): ceil(7 / contracts holding jobs).
    const admission = new Admission((_tenant, active) => Math.max(1, Math.ceil(7 / active)));
    const alone = Array.from({ length: 8 }, () => admission.enter('busy'));
    // Alone, a contract holds all its concurrency (its requests run and batch together) ...
    expect(alone.filter((p) => p.ok)).toHaveLength(7);
    expect(alone[7]).toEqual({ ok: false, why: 'tenant' });
    // ... and the spare slot takes another contract's request at once.
    const other = admission.enter('greeter');
    expect(other.ok).toBe(true);
    // With two holding jobs, the busy one gets no more until it is down to its part, ceil(7/2) = 4.
    for (const p of alone.slice(0, 3)) if (p.ok) p.release();
    expect(admission.enter('busy')).toEqual({ ok: false, why: 'tenant' });
    if (alone[3]!.ok) alone[3]!.release();
    expect(admission.enter('busy').ok).toBe(true);
    expect(admission.enter('busy')).toEqual({ ok: false, why: 'tenant' });
  });
});

describe("the worker's admission, alone or with others", () => {
  it('lets a lone contract wait for its next place, handed over in order; with others about, it may not', async () => {
    let now = 0;
    const admission = new Admission(() => 1, { othersWindowMs: 5_000, now: () => now });
    const first = admission.enter('solo');
    expect(first.ok).toBe(true);
    expect(admission.enter('solo')).toEqual({ ok: false, why: 'tenant' });
    expect(admission.isAlone('solo')).toBe(true);
    const waiting = [admission.waitFor('solo'), admission.waitFor('solo')];
    const order: number[] = [];
    waiting[0]!.then(() => order.push(0));
    waiting[1]!.then(() => order.push(1));
    if (first.ok) first.release();
    const second = await waiting[0]!;
    // The place went straight to the waiter: still one held, none free for the tenant.
    expect(admission.total).toBe(1);
    expect(admission.enter('solo')).toEqual({ ok: false, why: 'tenant' });
    second.release();
    (await waiting[1]!).release();
    expect(order).toEqual([0, 1]);
    expect(admission.total).toBe(0);
    // Another contract came by: for the next five seconds the solo one is not alone.
    now = 10_000;
    admission.enter('greeter');
    now = 14_000;
    expect(admission.isAlone('solo')).toBe(false);
    now = 15_001;
    expect(admission.isAlone('solo')).toBe(true);
  });
});

describe('fair share and the watchdog in a real two-thread engine', () => {
  let engine: ContractEngine;
  // A 20 ms watchdog for the default 20M gas, so 2 s for the 2·10⁹ given below: interpreting
  // that much gas takes a minute or more, so these calls always end by the watchdog.
  const GAS = 2_000_000_000;
  const BURN = 'export function handle() { let x = 0; for (;;) x++; }';
  const GREETER = "export function handle(input) { return { public: 'hello ' + input.length }; }";
  const base = (code: string, tenant: string): RunContractParameters => ({
    code,
    input: new Uint8Array(3),
    requestId: `0x${'ab'.repeat(32)}`,
    randomSeed: new Uint8Array(32),
    tenant,
    limits: { gas: GAS },
  });

  beforeAll(async () => {
    engine = await ContractEngine.start({ threads: 2, callTimeoutMs: 20 });
  });
  afterAll(async () => {
    await engine?.close();
  });

  it('ends a call past the wall-clock limit as OutOfGas with all its gas used, and keeps serving', async () => {
    const started = performance.now();
    const outcome = await engine.run(base(BURN, 'burn'));
    const elapsed = performance.now() - started;
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('OutOfGas');
    expect(outcome.error.message).toMatch(/wall-clock limit \(2000 ms\)/);
    expect(outcome.gasUsed).toBe(GAS);
    expect(elapsed).toBeGreaterThanOrEqual(1_900);
    expect(elapsed).toBeLessThan(15_000);
    const next = await engine.run(base(GREETER, 'greeter'));
    expect(next.ok).toBe(true);
  }, 60_000);

  it('answers another contract at once while one contract has eight calls burning', async () => {
    const burns = Array.from({ length: 8 }, () => engine.run(base(BURN, 'burn')));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      const outcome = await engine.run(base(GREETER, 'greeter'));
      latencies.push(performance.now() - started);
      expect(outcome.ok).toBe(true);
    }
    // Behind the burst, each greeting would wait for a 2 s watchdog; fair share answers at once.
    expect(Math.max(...latencies)).toBeLessThan(1_000);
    const ended = await Promise.all(burns);
    expect(ended.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual(Array(8).fill('OutOfGas'));
  }, 120_000);
});
