import { describe, expect, it } from 'vitest';
import {
  type QeIdentity,
  qeIdentitySchema,
  type TcbInfo,
  tcbInfoSchema,
} from '../../../src/gatekeeper/attestation/collateral.js';
import { parseDcapQuote } from '../../../src/gatekeeper/attestation/quote.js';
import { parseSgxExtension } from '../../../src/gatekeeper/attestation/sgx-extension.js';
import { converge, evaluateTcb } from '../../../src/gatekeeper/attestation/tcb.js';
import type { TcbStatus } from '../../../src/gatekeeper/attestation/types.js';
import { parseCertificate, pemChain } from '../../../src/gatekeeper/attestation/x509.js';
import {
  readCollateral,
  readQuote,
  SGX_COLLATERAL,
  SGX_QUOTE,
  TDX_COLLATERAL,
  TDX_QUOTE,
} from './vectors.js';

describe('status convergence (Intel QVL convergeTcbStatusWithQeTcbStatus / ...WithTdxModuleStatus)', () => {
  const table: [TcbStatus, TcbStatus, TcbStatus][] = [
    ['UpToDate', 'UpToDate', 'UpToDate'],
    ['SWHardeningNeeded', 'UpToDate', 'SWHardeningNeeded'],
    ['UpToDate', 'OutOfDate', 'OutOfDate'],
    ['SWHardeningNeeded', 'OutOfDate', 'OutOfDate'],
    ['ConfigurationNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'],
    ['ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'],
    ['OutOfDateConfigurationNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'],
    ['OutOfDate', 'UpToDate', 'OutOfDate'],
    ['UpToDate', 'Revoked', 'Revoked'],
    ['Revoked', 'UpToDate', 'Revoked'],
  ];
  for (const [platform, other, want] of table) {
    it(`${platform} with ${other} → ${want}`, () => expect(converge(platform, other)).toBe(want));
  }
});

const title = 'TCB level matching on the real collateral';

describe(title, () => {
  function load(quoteName: string, collateralName: string) {
    const quote = parseDcapQuote(readQuote(quoteName));
    const c = readCollateral(collateralName);
    const leaf = parseCertificate(
      pemChain(Buffer.from(quote.signatureData.certification.data).toString('latin1'))[0]!,
    );
    return {
      quote,
      pck: parseSgxExtension(leaf),
      tcbInfo: tcbInfoSchema.parse(JSON.parse(c.tcb_info!)),
      qeIdentity: qeIdentitySchema.parse(JSON.parse(c.qe_identity!)),
    };
  }
  const clone = <T>(v: T): T => structuredClone(v);

  it('does not depend on the order of TCB levels in the JSON', () => {
    const base = load(SGX_QUOTE, SGX_COLLATERAL);
    const reversed: TcbInfo = { ...base.tcbInfo, tcbLevels: [...base.tcbInfo.tcbLevels].reverse() };
    const a = evaluateTcb(base);
    const b = evaluateTcb({ ...base, tcbInfo: reversed });
    expect(a).toEqual(b);
    expect(a).toMatchObject({ ok: true, status: 'ConfigurationAndSWHardeningNeeded' });
  });

  it('an out-of-date QE turns ConfigurationAndSWHardeningNeeded into OutOfDateConfigurationNeeded, adding its advisories', () => {
    const base = load(SGX_QUOTE, SGX_COLLATERAL);
    const qe: QeIdentity = clone(base.qeIdentity);
    qe.tcbLevels[0]!.tcb.isvsvn = 11; // the QE has ISVSVN 10: now only the OutOfDate level (6) matches
    const v = evaluateTcb({ ...base, qeIdentity: qe });
    expect(v).toEqual({
      ok: true,
      status: 'OutOfDateConfigurationNeeded',
      advisoryIds: ['INTEL-SA-00289', 'INTEL-SA-00615'],
      qeStatus: 'OutOfDate',
      platformStatus: 'ConfigurationAndSWHardeningNeeded',
    });
    qe.tcbLevels[1]!.advisoryIDs = ['INTEL-SA-00999'];
    expect(evaluateTcb({ ...base, qeIdentity: qe })).toMatchObject({
      advisoryIds: ['INTEL-SA-00289', 'INTEL-SA-00615', 'INTEL-SA-00999'],
    });
  });

  it('a revoked QE revokes; a QE below every level is not supported', () => {
    const base = load(SGX_QUOTE, SGX_COLLATERAL);
    const revoked = clone(base.qeIdentity);
    revoked.tcbLevels[0]!.tcbStatus = 'Revoked';
    expect(evaluateTcb({ ...base, qeIdentity: revoked })).toMatchObject({ ok: true, status: 'Revoked' });
    const tooOld = clone(base.qeIdentity);
    tooOld.tcbLevels = tooOld.tcbLevels.map((l) => ({ ...l, tcb: { isvsvn: l.tcb.isvsvn + 20 } }));
    expect(evaluateTcb({ ...base, qeIdentity: tooOld })).toMatchObject({
      ok: false,
      code: 'TcbLevelNotFound',
    });
  });

  it('a QE that is not the one the identity names is a mismatch (MRSIGNER, ISVPRODID, attributes, id)', () => {
    const base = load(SGX_QUOTE, SGX_COLLATERAL);
    const variants: ((q: QeIdentity) => void)[] = [
      (q) => {
        q.mrsigner[0] = q.mrsigner[0]! ^ 1;
      },
      (q) => {
        q.isvprodid = 2;
      },
      (q) => {
        q.attributes[0] = 0x13;
      },
      (q) => {
        q.id = 'TD_QE';
      },
      (q) => {
        q.miscselect[0] = 1;
      },
    ];
    for (const change of variants) {
      const qe = clone(base.qeIdentity);
      change(qe);
      expect(evaluateTcb({ ...base, qeIdentity: qe })).toMatchObject({
        ok: false,
        code: 'QeIdentityMismatch',
      });
    }
  });

  it('a platform below every TCB level, another FMSPC or PCE-ID, or SGX TCB info for TDX is refused', () => {
    const base = load(SGX_QUOTE, SGX_COLLATERAL);
    expect(evaluateTcb({ ...base, pck: { ...base.pck, pceSvn: 1 } })).toMatchObject({
      ok: false,
      code: 'TcbLevelNotFound',
    });
    expect(evaluateTcb({ ...base, pck: { ...base.pck, fmspc: new Uint8Array(6) } })).toMatchObject({
      ok: false,
      code: 'TcbInfoMismatch',
    });
    expect(evaluateTcb({ ...base, pck: { ...base.pck, pceId: Uint8Array.of(0, 1) } })).toMatchObject({
      ok: false,
      code: 'TcbInfoMismatch',
    });
    const tdx = load(TDX_QUOTE, TDX_COLLATERAL);
    expect(evaluateTcb({ ...tdx, tcbInfo: { ...tdx.tcbInfo, id: 'SGX' } })).toMatchObject({
      ok: false,
      code: 'TcbInfoMismatch',
    });
  });

  it('lower CPU SVN components select a lower level (the OutOfDate ones)', () => {
    const base = load(SGX_QUOTE, SGX_COLLATERAL);
    const comps = [...base.pck.cpuSvnComponents];
    comps[0] = 10;
    comps[1] = 10;
    comps[6] = 12;
    const v = evaluateTcb({ ...base, pck: { ...base.pck, cpuSvnComponents: comps } });
    expect(v).toMatchObject({
      ok: true,
      status: 'OutOfDate',
      advisoryIds: ['INTEL-SA-00828', 'INTEL-SA-00289', 'INTEL-SA-00615'],
    });
  });

  it('TDX: TEE_TCB_SVN picks the TDX level; the module identity TDX_01 (TEE_TCB_SVN[1] = 1) judges the module', () => {
    const base = load(TDX_QUOTE, TDX_COLLATERAL);
    expect(evaluateTcb(base)).toMatchObject({ ok: true, status: 'UpToDate', advisoryIds: [] });

    const noModule: TcbInfo = clone(base.tcbInfo);
    noModule.tdxModuleIdentities = noModule.tdxModuleIdentities!.filter((m) => m.id !== 'TDX_01');
    expect(evaluateTcb({ ...base, tcbInfo: noModule })).toMatchObject({
      ok: false,
      code: 'TdxModuleMismatch',
    });

    const oldModule: TcbInfo = clone(base.tcbInfo);
    const m = oldModule.tdxModuleIdentities!.find((x) => x.id === 'TDX_01')!;
    m.tcbLevels = [
      { tcb: { isvsvn: 7 }, tcbDate: 0, tcbStatus: 'UpToDate', advisoryIDs: [] },
      { tcb: { isvsvn: 5 }, tcbDate: 0, tcbStatus: 'OutOfDate', advisoryIDs: ['INTEL-SA-01234'] },
    ];
    expect(evaluateTcb({ ...base, tcbInfo: oldModule })).toMatchObject({
      ok: true,
      status: 'OutOfDate',
      advisoryIds: ['INTEL-SA-01234'],
    });

    const otherSigner: TcbInfo = clone(base.tcbInfo);
    otherSigner.tdxModuleIdentities!.find((x) => x.id === 'TDX_01')!.mrsigner[0] = 1;
    expect(evaluateTcb({ ...base, tcbInfo: otherSigner })).toMatchObject({
      ok: false,
      code: 'TdxModuleMismatch',
    });

    // TEE_TCB_SVN byte 2 (late microcode) below every level's third TDX component
    const td = clone(base.quote);
    if (td.body.kind !== 'tdx') throw new Error('expected TDX');
    td.body.report.teeTcbSvn = Uint8Array.of(6, 1, 1, ...new Uint8Array(13));
    expect(evaluateTcb({ ...base, quote: td })).toMatchObject({ ok: false, code: 'TcbLevelNotFound' });
  });

  it('TD 1.5: an out-of-date module with a newer one already loaded is TDRelaunchAdvised', () => {
    const base = load(TDX_QUOTE, TDX_COLLATERAL);
    const quote = clone(base.quote);
    if (quote.body.kind !== 'tdx') throw new Error('expected TDX');
    // the running module: TEE_TCB_SVN 06 01 03 (ISVSVN 6 of TDX_01, late microcode 3)
    quote.body.bodyType = 3;
    quote.body.report.mrServiceTd = new Uint8Array(48);
    const tcbInfo: TcbInfo = clone(base.tcbInfo);
    const tdxComponents = (i: number) =>
      (tcbInfo.tcbLevels[i]!.tcb as { tdxtcbcomponents: { svn: number }[] }).tdxtcbcomponents;
    tdxComponents(0)[2]!.svn = 4; // the UpToDate level needs late microcode 4
    tdxComponents(1)[2]!.svn = 2; // the OutOfDate level is met
    tcbInfo.tdxModuleIdentities!.find((x) => x.id === 'TDX_01')!.tcbLevels = [
      { tcb: { isvsvn: 7 }, tcbDate: 0, tcbStatus: 'UpToDate', advisoryIDs: [] },
      { tcb: { isvsvn: 5 }, tcbDate: 0, tcbStatus: 'OutOfDate', advisoryIDs: [] },
    ];
    // TEE_TCB_SVN_2: module ISVSVN 7 and microcode 4 are already loaded
    quote.body.report.teeTcbSvn2 = Uint8Array.of(7, 1, 4, ...new Uint8Array(13));
    expect(evaluateTcb({ ...base, quote, tcbInfo })).toMatchObject({ ok: true, status: 'TDRelaunchAdvised' });
    // a TD report 1.0 never is
    expect(
      evaluateTcb({ ...base, quote: { ...quote, body: { ...quote.body, bodyType: 2 } }, tcbInfo }),
    ).toMatchObject({
      ok: true,
      status: 'OutOfDate',
    });
    // without the newer module loaded it stays OutOfDate
    quote.body.report.teeTcbSvn2 = Uint8Array.of(6, 1, 4, ...new Uint8Array(13));
    expect(evaluateTcb({ ...base, quote, tcbInfo })).toMatchObject({ ok: true, status: 'OutOfDate' });
  });
});
