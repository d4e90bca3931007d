import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ethereumAddress } from '../../src/crypto/keys.js';
import { runDemo } from '../../src/cli/demo.js';
import { type Devnet, startDevnet } from '../../src/devnet/orchestrator/devnet.js';
import * as contracts from '../../src/phala/actions/contracts.js';
import { devSigner } from '../../src/phala/signers.js';
import { RESULT_QUEUE, resultJobIdOf } from '../../src/protocol/queue-names.js';
import { getJourney, listJobs } from '../../src/relayer/admin-client.js';
import { requestFromPhala, waitForPhalaResult } from '../../src/sdk/phala.js';
import { forgedPhalaResult } from '../helpers/forged-result.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * The whole system, end to end, on the embedded devnet: real chains (relay, Phala-style, sibling,
 * Hardhat EVM), the real gatekeeper and worker services (sim TEE: the one mocked part, as no SGX
 * hardware is here), the real relayer on a real Redis. One request from each origin.
 */
let devnet: Devnet;

beforeAll(async () => {
  devnet = await startDevnet({ redisUrl: REDIS_URL, redisPrefix: `{${uniquePrefix('e2e')}}` });
}, 120_000);

afterAll(async () => {
  await devnet?.stop();
});

describe('end to end on the devnet (sim TEE)', () => {
  it('answers a Solidity, a Phala-style and an XCM request, each on its own chain, sealed to its requester', async () => {
    const outcomes = await runDemo(devnet, 90_000);
    expect(outcomes.map((o) => o.origin)).toEqual(['evm', 'phala', 'xcm']);
    for (const o of outcomes) expect(o.publicOutput).toBe(`hello, ${o.input}!`);
    // The greeter's state is sealed on chain between requests, whichever worker runs the next one.
    expect(outcomes.map((o) => JSON.parse(o.openedOutput))).toEqual([
      { greeting: 1, origin: 'evm', secret: 'only you can read this' },
      { greeting: 2, origin: 'phala', secret: 'only you can read this' },
      { greeting: 3, origin: 'xcm', secret: 'only you can read this' },
    ]);
    const stages = (i: number) => outcomes[i]!.journey.journey.map((e) => e.stage);
    for (const i of [0, 1, 2]) {
      expect(stages(i)).toEqual(expect.arrayContaining(['observed', 'queued', 'result', 'submitted']));
      expect(stages(i).indexOf('observed')).toBeLessThan(stages(i).indexOf('submitted'));
    }
    expect(stages(0)).toContain('confirmed');
    expect(stages(1)).toContain('confirmed');
    // An XCM request is done when the response was processed on the sibling.
    expect(stages(2)).toContain('xcm-sent');
    expect(stages(2)).toContain('xcm-processed');
    const submitted = outcomes[0]!.journey.journey.find((e) => e.stage === 'submitted');
    expect(submitted?.chain).toBe('evm');
    expect(submitted?.txHash).toMatch(/^0x[0-9a-f]{64}$/);

    const admin = devnet.relayer.admin;
    const phalaJobs = await listJobs(admin, { origin: 'phala' });
    expect(phalaJobs.map((j) => j.jobId)).toContain(outcomes[1]!.jobId);
    const metrics = await (await fetch(`${devnet.relayer.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/phala_bridge_\w+/);
  }, 240_000);

  it('records a request whose input the workers cannot open, and keeps answering the others', async () => {
    const signer = await devSigner('Eve', 30);
    const contractId = devnet.contracts.greeter.contractId;
    // Sealed for another requester: the envelope context binds the requester, so no worker can open it.
    const bad = await contracts.request(devnet.phala, {
      signer,
      contractId,
      sealedInput: `0x${'ab'.repeat(80)}`,
      responseKey: `0x${'11'.repeat(32)}`,
      deadline: await contracts.deadlineIn(devnet.phala, 600),
    });
    const good = await requestFromPhala(devnet.phala, { signer, contractId, input: 'after a bad one' });
    const result = await waitForPhalaResult(devnet.phala, { requestId: good.requestId, timeoutMs: 60_000 });
    expect(Buffer.from(result.publicOutput.slice(2), 'hex').toString()).toBe('hello, after a bad one!');

    const badJob = `phala-${(bad.event.requestId as string).toLowerCase()}`;
    const admin = devnet.relayer.admin;
    const deadline = Date.now() + 60_000;
    let journey = await getJourney(admin, badJob);
    while (
      Date.now() < deadline &&
      !journey?.journey.some((e) => e.stage === 'dead' || e.stage === 'result-rejected')
    ) {
      await new Promise((r) => setTimeout(r, 500));
      journey = await getJourney(admin, badJob);
    }
    const ending = journey?.journey.find((e) => e.stage === 'dead' || e.stage === 'result-rejected');
    expect(ending?.detail ?? '').toMatch(/envelope|open|input|decrypt/i);
    expect(await contracts.requestStatus(devnet.phala, bad.event.requestId as `0x${string}`)).toBe('open');
  }, 120_000);

  it('drops a result signed by an unapproved key and a result that fails the schema, each with its reason, while the real answer lands', async () => {
    const contractId = devnet.contracts.greeter.contractId;
    const sent = await requestFromPhala(devnet.phala, {
      signer: await devSigner('Ferdie', 30),
      contractId,
      input: 'real',
    });
    // A well-formed result whose proof verifies, from a key no gatekeeper approved.
    const forged = forgedPhalaResult(devnet, sent.requestId);
    const { jobId } = forged;
    const rogueAddress = forged.worker.address;
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const results = new Queue(RESULT_QUEUE, { connection, prefix: devnet.config.redis.prefix });
    const admin = devnet.relayer.admin;
    try {
      // A result is only considered for a request the relayer has queued.
      for (let i = 0; i < 120 && !(await getJourney(admin, jobId)); i++)
        await new Promise((r) => setTimeout(r, 250));
      await results.add('result', forged, { jobId: resultJobIdOf(jobId, rogueAddress) });
      const malformed = await results.add(
        'result',
        { v: 1, jobId, worker: 'me' },
        { jobId: `${jobId}-malformed` },
      );

      const real = await waitForPhalaResult(devnet.phala, { requestId: sent.requestId, timeoutMs: 60_000 });
      expect(Buffer.from(real.publicOutput.slice(2), 'hex').toString()).toBe('hello, real!');
      expect(devnet.workers.map((w) => w.address.toLowerCase())).toContain(
        ethereumAddress(Buffer.from(real.worker.slice(2), 'hex')).toLowerCase(),
      );

      const until = Date.now() + 30_000;
      let rejection: string | undefined;
      while (Date.now() < until && !rejection) {
        const journey = await getJourney(admin, jobId);
        rejection = journey?.journey.find(
          (e) => e.stage === 'result-rejected' && e.worker === rogueAddress,
        )?.detail;
        if (!rejection) await new Promise((r) => setTimeout(r, 250));
      }
      expect(rejection).toMatch(/not an approved/);
      const dropped = await results.getJob(malformed.id!);
      expect(await dropped?.isFailed()).toBe(true);
      expect(dropped?.failedReason).toMatch(/^result payload: /);
      const metrics = await (await fetch(`${devnet.relayer.metricsUrl}/metrics`)).text();
      expect(metrics).toMatch(/kind="rejected-result"[^\n]* [1-9]/);
      expect(metrics).toMatch(/kind="bad-result-payload"[^\n]* [1-9]/);
    } finally {
      await results.close();
      connection.disconnect();
    }
  }, 120_000);
});
