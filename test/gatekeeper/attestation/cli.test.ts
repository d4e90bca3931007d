import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ed25519 } from '@noble/curves/ed25519.js';
import { afterAll, describe, expect, it } from 'vitest';
import { toHex } from '../../../src/base/bytes.js';
import { signSimQuote } from '../../../src/crypto/sim-quote.js';
import { IN_WINDOW, SGX_MRENCLAVE, sgxDir, TDX_MRTD } from './vectors.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/phala-bridge.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'pb-attestation-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, 'attestation', 'verify', ...args], (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('phala-bridge attestation verify (sim)', () => {
  it('verifies a sim quote file (binary and hex) in development mode; production refuses it', async () => {
    const ca = ed25519.utils.randomSecretKey();
    const measurement = new Uint8Array(32).fill(9);
    const now = Math.floor(Date.now() / 1000);
    const q = signSimQuote(
      { measurement, reportData: new Uint8Array(64), issuedAt: BigInt(now), platformId: new Uint8Array(32) },
      ca,
    );
    writeFileSync(path.join(tmp, 'sim.bin'), q);
    writeFileSync(path.join(tmp, 'sim.hex'), `${toHex(q)}\n`);
    const args = ['--sim-ca', toHex(ed25519.getPublicKey(ca)), '--allow', toHex(measurement), '--json'];
    const [bin, hex, prod] = await Promise.all([
      run([path.join(tmp, 'sim.bin'), ...args, '--development']),
      run([path.join(tmp, 'sim.hex'), ...args, '--development']),
      run([path.join(tmp, 'sim.bin'), ...args]),
    ]);
    expect(bin.code).toBe(0);
    expect(JSON.parse(bin.stdout)).toMatchObject({
      ok: true,
      tee: 'sim',
      issuedAt: now,
      measurement: toHex(measurement),
    });
    expect(hex.code).toBe(0);
    expect(prod.code).toBe(1);
    expect(JSON.parse(prod.stdout).reasons.map((r: { code: string }) => r.code)).toEqual(['SimNotAllowed']);
  });

  it('usage errors exit 2; an unreadable file exits 1 with one line', async () => {
    const [badHex, badStatus, missing] = await Promise.all([
      run([path.join(tmp, 'x'), '--allow', 'zz']),
      run([path.join(tmp, 'x'), '--accept-status', 'Fine']),
      run([path.join(tmp, 'does-not-exist')]),
    ]);
    expect(badHex.code).toBe(2);
    expect(badHex.stderr).toMatch(/--allow.*expected hex bytes/);
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toMatch(/Fine is not one of UpToDate/);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(
      `error: cannot read quote file ${path.join(tmp, 'does-not-exist')} (ENOENT)`,
    );
  });
});

const title = 'phala-bridge attestation verify (DCAP)';

describe(title, () => {
  it('exit 0 for the SGX sample with its collateral, allowed MRENCLAVE and accepted status', async () => {
    const ok = await run([
      `${sgxDir}/dcap-qvl__sample_sgx_quote`,
      '--collateral',
      `${sgxDir}/dcap-qvl__sample_sgx_quote_collateral.json`,
      '--allow',
      SGX_MRENCLAVE,
      '--accept-status',
      'UpToDate,ConfigurationAndSWHardeningNeeded',
      '--at',
      String(IN_WINDOW),
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^verdict: +VALID$/m);
    expect(ok.stdout).toMatch(/^tcb status: +ConfigurationAndSWHardeningNeeded$/m);
    expect(ok.stdout).toMatch(/^advisory ids: +INTEL-SA-00289, INTEL-SA-00615$/m);
  });

  it('exit 1 when the status is not accepted, and for a hex TDX quote without collateral', async () => {
    const [status, hex] = await Promise.all([
      run([
        `${sgxDir}/dcap-qvl__sample_sgx_quote`,
        '--collateral',
        `${sgxDir}/dcap-qvl__sample_sgx_quote_collateral.json`,
        '--allow',
        SGX_MRENCLAVE,
        '--at',
        String(IN_WINDOW),
        '--json',
      ]),
      run([
        `${sgxDir}/dcap-qvl__sample_tdx-quote.hex`,
        '--allow',
        TDX_MRTD,
        '--at',
        String(IN_WINDOW),
        '--json',
      ]),
    ]);
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout)).toMatchObject({
      ok: false,
      tcbStatus: 'ConfigurationAndSWHardeningNeeded',
      reasons: [{ code: 'TcbStatusNotAccepted' }],
    });
    expect(hex.code).toBe(1);
    const r = JSON.parse(hex.stdout);
    expect(r.tee).toBe('tdx');
    expect(r.reasons.map((x: { code: string }) => x.code)).toEqual([
      'MissingCollateral',
      'MeasurementNotAllowed',
    ]);
  });
});
