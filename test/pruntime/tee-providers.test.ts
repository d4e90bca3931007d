import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { afterAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/base/bytes.js';
import { reportDataFor } from '../../src/crypto/report-data.js';
import {
  type AttestationPolicyInput,
  measuredOf,
  measurementIdOf,
  parseDcapQuote,
  verifyQuote,
} from '../../src/gatekeeper/attestation/index.js';
import { GatekeeperEnclave } from '../../src/gatekeeper/enclave/enclave.js';
import {
  createTeePlatform,
  DstackPlatform,
  GraminePlatform,
  PlatformError,
  TdxPlatform,
  type TeePlatform,
} from '../../src/pruntime/enclave/index.js';
import {
  IN_WINDOW,
  readCollateral,
  readQuote,
  SGX_COLLATERAL,
  SGX_QUOTE,
  TDX_COLLATERAL,
  TDX_QUOTE,
} from '../gatekeeper/attestation/vectors.js';

/**
 * The real TEE quote providers, without TEE hardware: a fake configfs-tsm tree, a fake Gramine
 * /dev/attestation tree and a fake dstack guest agent (HTTP on a Unix socket) hand out REAL quote
 * bytes from test/vectors/sgx. Each quote then goes through the gatekeeper's verification with the
 * vector's collateral at the vector's time: signature chain, TCB status and measurement verify,
 * and the report-data binding is what decides, since a captured quote cannot carry this worker's
 * keys.
 */

const dirs: string[] = [];
const servers: Server[] = [];
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = (prefix: string) => {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
};

const sgxQuote = readQuote(SGX_QUOTE);
const tdxQuote = readQuote(TDX_QUOTE);
const reportDataOf = (quote: Uint8Array) => new Uint8Array(parseDcapQuote(quote).body.report.reportData);

/** The report data a worker puts in its quote: its own secp256k1 and X25519 keys (PROTOCOL §5). */
const workerReportData = reportDataFor(
  secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true),
  x25519.getPublicKey(x25519.utils.randomSecretKey()),
);

const vectors = {
  sgx: {
    quote: sgxQuote,
    collateral: readCollateral(SGX_COLLATERAL),
    status: 'ConfigurationAndSWHardeningNeeded',
  },
  tdx: { quote: tdxQuote, collateral: readCollateral(TDX_COLLATERAL), status: 'UpToDate' },
} as const;

/**
 * The gatekeeper's verdicts on a quote a provider handed over: without a report-data expectation
 * (what the quote itself proves) and with the worker's (what a registration needs). The policy
 * allows exactly this quote's measurement and its vector's status.
 */
function judge(quote: Uint8Array, tee: 'sgx' | 'tdx') {
  const { collateral, status } = vectors[tee];
  const probe = verifyQuote(quote, { policy: {}, collateral, at: IN_WINDOW });
  const id = probe.measurementId ?? probe.measurement;
  const policy: AttestationPolicyInput = {
    allowedMeasurements: id ? [id] : [],
    acceptTcbStatuses: [status],
  };
  const alone = verifyQuote(quote, { policy, collateral, at: IN_WINDOW });
  const bound = verifyQuote(quote, {
    policy,
    collateral,
    at: IN_WINDOW,
    expectedReportData: workerReportData,
  });
  return { alone, bound };
}

/** What every provider must show with a real quote behind it. */
async function endToEnd(platform: TeePlatform, tee: 'sgx' | 'tdx') {
  const real = vectors[tee].quote;
  // asked for the quote's own report data, the provider hands the real quote through unchanged
  const own = reportDataOf(real);
  const handed = await platform.quote(own);
  expect(toHex(handed)).toBe(toHex(real));
  expect(toHex(reportDataOf(handed))).toBe(toHex(own));

  const { alone, bound } = judge(handed, tee);
  expect(alone.reasons).toEqual([]);
  expect(alone.ok).toBe(true);
  expect(alone.tee).toBe(tee);
  expect(alone.tcbStatus).toBe(vectors[tee].status);
  const body = parseDcapQuote(real).body;
  expect(alone.measurement).toBe(toHex(body.kind === 'sgx' ? body.report.mrEnclave : body.report.mrTd));
  // the binding decides: a captured quote does not carry this worker's keys
  expect(bound.ok).toBe(false);
  expect(bound.reasons.map((r) => r.code)).toEqual(['ReportDataMismatch']);

  // asked for the worker's report data, the interface still answers the captured quote: refused
  const refused = await platform.quote(workerReportData).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(PlatformError);
  expect((refused as PlatformError).shortMessage).toMatch(/returned a quote over other report data/);
  expect((refused as PlatformError).retryable).toBe(true);
}

/**
 * The TD measurement the providers report: the gatekeeper policy's exact id of the quote (MRTD,
 * RTMR0-3, MRCONFIGID, MROWNER, MROWNERCONFIG), so a TD's sealing and its gatekeeper peers are
 * bound to the same build id its registrations are allowlisted by.
 */
function expectedTdMeasurement(quote: Uint8Array): string {
  const measured = measuredOf(verifyQuote(quote, { policy: {}, at: IN_WINDOW }));
  expect(measured?.tee).toBe('tdx');
  return measurementIdOf(measured!);
}

describe('tdx provider: fake device tree (configfs-tsm) returning a real TDX quote (no TDX hardware here)', () => {
  /** The tree the kernel shows after mkdir of a report entry: provider, generation, outblob. */
  function fakeConfigfs(outblob: Uint8Array, provider = 'tdx_guest') {
    const root = tempDir('tsm-report-');
    const entry = path.join(root, `phala-bridge-${process.pid}`);
    mkdirSync(entry);
    writeFileSync(path.join(entry, 'provider'), `${provider}\n`);
    writeFileSync(path.join(entry, 'generation'), '1\n');
    writeFileSync(path.join(entry, 'outblob'), outblob);
    return { root, entry };
  }

  it('writes the 64 bytes to inblob, hands the real quote through, and the gatekeeper verifies it', async () => {
    const { root, entry } = fakeConfigfs(tdxQuote);
    const platform = new TdxPlatform({ root });
    await endToEnd(platform, 'tdx');
    // the last request wrote the worker's report data into the entry's inblob
    expect(toHex(new Uint8Array(readFileSync(path.join(entry, 'inblob'))))).toBe(toHex(workerReportData));
    expect(platform.tee).toBe('tdx-dcap');
    expect(toHex(await platform.measurement())).toBe(expectedTdMeasurement(tdxQuote));
  });

  it('refuses another TSM, an SGX quote, garbage, a missing tree, and has no sealing key unless configured', async () => {
    const rd = reportDataOf(tdxQuote);
    await expect(
      new TdxPlatform({ root: fakeConfigfs(tdxQuote, 'sev_guest').root }).quote(rd),
    ).rejects.toThrow(/backed by "sev_guest"/);
    await expect(
      new TdxPlatform({ root: fakeConfigfs(sgxQuote).root }).quote(reportDataOf(sgxQuote)),
    ).rejects.toThrow(/SGX quote, expected TDX/);
    await expect(
      new TdxPlatform({ root: fakeConfigfs(tdxQuote.subarray(0, 600)).root }).quote(rd),
    ).rejects.toThrow(/malformed quote/);
    const missing = await new TdxPlatform({ root: '/nonexistent/tsm/report' })
      .quote(rd)
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(PlatformError);
    const platform = new TdxPlatform({ root: fakeConfigfs(tdxQuote).root });
    await expect(platform.sealingSecret()).rejects.toThrow(/no sealing key/);
    const sealed = createTeePlatform({
      provider: 'tdx',
      configfsRoot: '/x',
      sealingSecret: `0x${'ab'.repeat(32)}`,
    });
    expect(toHex(await sealed.sealingSecret())).toBe(`0x${'ab'.repeat(32)}`);
  });

  it('a gatekeeper enclave on TDX is its whole measured build: it seals to it and admits peers of exactly it', async () => {
    const platform = new TdxPlatform({
      root: fakeConfigfs(tdxQuote).root,
      sealingSecret: new Uint8Array(32).fill(7),
    });
    const enclave = await GatekeeperEnclave.open({
      dataDir: tempDir('gk-tdx-'),
      platform,
      policy: { acceptTcbStatuses: ['UpToDate'] },
      registrationTtlSeconds: 3600,
      collateral: vectors.tdx.collateral,
    });
    // Not MRTD alone (firmware): MRTD, RTMR0-3 and the TD's config fields, as the allowlist names it.
    expect(enclave.measurement).toBe(expectedTdMeasurement(tdxQuote));
    await enclave.createMasterKey(0, new Uint8Array(32));
    // A peer with this very build is admitted as one (its captured quote then fails only the binding).
    const verdict = enclave.handOverMasterKeys({
      requester: secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true),
      requesterX25519: x25519.getPublicKey(x25519.utils.randomSecretKey()),
      attestation: tdxQuote,
      at: IN_WINDOW,
    });
    expect(verdict.ok).toBe(false);
    expect(verdict.ok ? [] : verdict.reasons.map((r) => r.code)).toEqual(['ReportDataMismatch']);
    await enclave.close();
  });

  it('detects a concurrent writer: generation changes while outblob is read (outblob a FIFO here)', async () => {
    const { root, entry } = fakeConfigfs(tdxQuote);
    const outblob = path.join(entry, 'outblob');
    unlinkSync(outblob);
    execFileSync('mkfifo', [outblob]);
    const pending = new TdxPlatform({ root }).quote(reportDataOf(tdxQuote)).catch((e: unknown) => e);
    // opening for write completes once the provider opened outblob to read, after its first generation read
    const writer = await open(outblob, 'w');
    writeFileSync(path.join(entry, 'generation'), '2\n');
    await writer.write(tdxQuote);
    await writer.close();
    const error = await pending;
    expect(error).toBeInstanceOf(PlatformError);
    expect((error as PlatformError).shortMessage).toMatch(/Another writer changed/);
    expect((error as PlatformError).details).toBe('generation 1 then 2');
    expect((error as PlatformError).retryable).toBe(true);
  });
});

describe('sgx-gramine provider: fake device tree (/dev/attestation) returning a real SGX quote (no SGX hardware here)', () => {
  function fakeAttestation(quote: Uint8Array) {
    const dir = tempDir('attestation-');
    writeFileSync(path.join(dir, 'attestation_type'), 'dcap\n');
    const targetInfo = new Uint8Array(512);
    const q = parseDcapQuote(quote);
    if (q.body.kind === 'sgx') targetInfo.set(q.body.report.mrEnclave, 0);
    writeFileSync(path.join(dir, 'my_target_info'), targetInfo);
    writeFileSync(path.join(dir, 'quote'), quote);
    mkdirSync(path.join(dir, 'keys'));
    writeFileSync(path.join(dir, 'keys', '_sgx_mrenclave'), new Uint8Array(16).fill(0x5e));
    return dir;
  }

  it('writes user_report_data, hands the real quote through, and the gatekeeper verifies it', async () => {
    const dir = fakeAttestation(sgxQuote);
    for (const platform of [
      new GraminePlatform({ devicePath: dir }),
      createTeePlatform({ provider: 'sgx-gramine', devicePath: dir }),
      createTeePlatform({ provider: 'gramine', devicePath: dir }),
    ]) {
      expect(platform.tee).toBe('sgx-dcap');
      await endToEnd(platform, 'sgx');
    }
    expect(toHex(new Uint8Array(readFileSync(path.join(dir, 'user_report_data'))))).toBe(
      toHex(workerReportData),
    );
  });

  it('refuses a TDX quote where an SGX one belongs', async () => {
    const dir = fakeAttestation(sgxQuote);
    writeFileSync(path.join(dir, 'quote'), tdxQuote);
    await expect(new GraminePlatform({ devicePath: dir }).quote(reportDataOf(tdxQuote))).rejects.toThrow(
      /TDX quote, expected SGX/,
    );
  });
});

describe('dstack provider: fake socket (guest agent, HTTP on a Unix socket) returning a real TDX quote (no TDX hardware here)', () => {
  type Seen = { path: string; body: Record<string, unknown> };
  async function fakeAgent(answer: (path: string) => { status: number; body: string }) {
    const socketPath = path.join(tempDir('dstack-'), 'dstack.sock');
    const seen: Seen[] = [];
    const agent = { socketPath, seen, hang: false };
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString() || '{}') });
        // an agent stuck in quote generation: never answers (the client's timeout ends it)
        if (agent.hang) return;
        const a = answer(req.url ?? '');
        res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
      });
    });
    await new Promise<void>((r) => server.listen(socketPath, r));
    servers.push(server);
    return agent;
  }
  const realAgent = (p: string) =>
    p === '/GetQuote'
      ? {
          status: 200,
          body: JSON.stringify({ quote: Buffer.from(tdxQuote).toString('hex'), event_log: '[]' }),
        }
      : p === '/GetKey'
        ? { status: 200, body: JSON.stringify({ key: 'cd'.repeat(32), signature_chain: [] }) }
        : { status: 404, body: '{"error":"not found"}' };

  it('calls GetQuote with the report data as hex, hands the real quote through, and the gatekeeper verifies it', async () => {
    const { socketPath, seen } = await fakeAgent(realAgent);
    const platform = createTeePlatform({ provider: 'dstack', socketPath });
    expect(platform).toBeInstanceOf(DstackPlatform);
    await endToEnd(platform, 'tdx');
    expect(seen.map((s) => s.path)).toEqual(['/GetQuote', '/GetQuote']);
    expect(seen[0]!.body).toEqual({ report_data: Buffer.from(reportDataOf(tdxQuote)).toString('hex') });
    expect(seen[1]!.body).toEqual({ report_data: Buffer.from(workerReportData).toString('hex') });
    expect(toHex(await platform.measurement())).toBe(expectedTdMeasurement(tdxQuote));
    expect(toHex(await platform.sealingSecret())).toBe(`0x${'cd'.repeat(32)}`);
    expect(seen.at(-1)).toEqual({
      path: '/GetKey',
      body: { path: 'phala-bridge/sealing/v1', purpose: 'sealing' },
    });
  });

  it('refuses agent failures with one clear error each: HTTP 500, not JSON, wrong shape, no socket', async () => {
    const rd = reportDataOf(tdxQuote);
    const failing = await fakeAgent(() => ({ status: 500, body: '{"error":"quote generation failed"}' }));
    const e500 = await new DstackPlatform({ socketPath: failing.socketPath })
      .quote(rd)
      .catch((e: unknown) => e);
    expect(e500).toBeInstanceOf(PlatformError);
    expect((e500 as PlatformError).shortMessage).toMatch(/refused GetQuote \(HTTP 500\)/);
    expect((e500 as PlatformError).retryable).toBe(true);
    const text = await fakeAgent(() => ({ status: 200, body: 'hello' }));
    await expect(new DstackPlatform({ socketPath: text.socketPath }).quote(rd)).rejects.toThrow(/not JSON/);
    const shape = await fakeAgent(() => ({ status: 200, body: '{"quote":"xyz"}' }));
    await expect(new DstackPlatform({ socketPath: shape.socketPath }).quote(rd)).rejects.toThrow(
      /unknown shape/,
    );
    const silent = await fakeAgent(() => ({ status: 200, body: '{}' }));
    silent.hang = true;
    const late = await new DstackPlatform({ socketPath: silent.socketPath, timeoutMs: 300 })
      .quote(rd)
      .catch((e: unknown) => e);
    expect(late).toBeInstanceOf(PlatformError);
    expect((late as PlatformError).shortMessage).toMatch(/did not answer GetQuote within 300 ms/);
    expect((late as PlatformError).retryable).toBe(true);
    const none = await new DstackPlatform({ socketPath: '/nonexistent/dstack.sock' })
      .quote(rd)
      .catch((e: unknown) => e);
    expect(none).toBeInstanceOf(PlatformError);
    expect((none as PlatformError).shortMessage).toMatch(/Cannot reach the dstack guest agent/);
  });
});

describe('provider config', () => {
  it('names the bad field in one error', () => {
    expect(() => createTeePlatform({ provider: 'dstack', socketPath: '' })).toThrow(
      /attestation\.socketPath/,
    );
    expect(() => createTeePlatform({ provider: 'tdx', sealingSecret: '0x01' })).toThrow(
      /attestation\.sealingSecret/,
    );
    expect(() => createTeePlatform({ provider: 'nitro' } as never)).toThrow(/attestation\.provider/);
  });
});
