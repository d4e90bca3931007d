import { type QeIdentity, type TcbInfo, type TcbLevel, levelComponents } from './collateral.js';
import type { DcapQuote, EnclaveReport, TdReport } from './quote.js';
import type { SgxExtension } from './sgx-extension.js';
import type { ReasonCode, TcbStatus } from './types.js';
import { sameBytes } from './x509.js';

/**
 * TCB status as Intel's QVL decides it (QuoteVerifier.cpp, Checks/TcbLevelCheck.cpp,
 * TdxModuleCheck.cpp, TDRelaunchCheck.cpp; read, not copied):
 *  - TCB levels are taken highest first (SGX components, then PCE SVN, then TDX components);
 *  - the SGX level is the first whose 16 components and PCE SVN the PCK certificate meets;
 *    for TDX the status comes from the first level that the TD report's TEE_TCB_SVN also meets
 *    (from byte 2 on when a TDX module version is present, whose bytes 0-1 are judged by the
 *    module identity instead);
 *  - the TDX module status (module identity TDX_<version>, MRSIGNERSEAM, SEAMATTRIBUTES, ISVSVN)
 *    and the QE status (QE identity, by ISVSVN) converge with it: an OutOfDate module or QE turns
 *    UpToDate/SWHardeningNeeded into OutOfDate and the Configuration* statuses into
 *    OutOfDateConfigurationNeeded; a Revoked one revokes;
 *  - TD report 1.5 may be "TD relaunch advised" when a newer module is already loaded.
 * Advisory ids: those of the matched platform level, then the module's, then the QE's (as
 * dcap-qvl merges them), without repeats.
 */
export type TcbVerdict =
  | { ok: true; status: TcbStatus; advisoryIds: string[]; qeStatus: TcbStatus; platformStatus: TcbStatus }
  | { ok: false; code: ReasonCode; detail: string };

type Level = { level: TcbLevel; sgx: number[]; pceSvn: number; tdx: number[] | null };
type Status = { status: TcbStatus; advisoryIds: string[] };

function fail(code: ReasonCode, detail: string): TcbVerdict {
  return { ok: false, code, detail };
}

function compareDesc(a: number[] | null, b: number[] | null): number {
  const x = a ?? [];
  const y = b ?? [];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (y[i] ?? -1) - (x[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** Intel keeps TCB levels in a set ordered highest first; the JSON order is not relied on. */
export function sortedLevels(tcbInfo: TcbInfo, isTdx: boolean): Level[] {
  const levels = tcbInfo.tcbLevels.map((level) => ({ level, ...levelComponents(level) }));
  return levels.sort(
    (a, b) => compareDesc(a.sgx, b.sgx) || b.pceSvn - a.pceSvn || (isTdx ? compareDesc(a.tdx, b.tdx) : 0),
  );
}

function isConfigurationNeeded(s: TcbStatus): boolean {
  return (
    s === 'ConfigurationNeeded' ||
    s === 'OutOfDateConfigurationNeeded' ||
    s === 'ConfigurationAndSWHardeningNeeded' ||
    s === 'TDRelaunchAdvisedConfigurationNeeded'
  );
}

/** convergeTcbStatusWithQeTcbStatus / convergeTcbStatusWithTdxModuleStatus. */
export function converge(platform: TcbStatus, other: TcbStatus): TcbStatus {
  if (other === 'Revoked') return 'Revoked';
  if (other === 'OutOfDate') {
    if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate';
    if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded') {
      return 'OutOfDateConfigurationNeeded';
    }
  }
  return platform;
}

function mergeAdvisories(...lists: string[][]): string[] {
  const out: string[] = [];
  for (const list of lists) for (const id of list) if (!out.includes(id)) out.push(id);
  return out;
}

/** The QE report against the QE identity; the status of the QE's ISVSVN, or a failure. */
export function qeIdentityStatus(
  qe: EnclaveReport,
  identity: QeIdentity,
  tee: 'sgx' | 'tdx',
): Status | { code: ReasonCode; detail: string } {
  const expectedId = tee === 'sgx' ? 'QE' : 'TD_QE';
  if (identity.id !== expectedId) {
    return {
      code: 'QeIdentityMismatch',
      detail: `QE identity is for ${identity.id}, quote needs ${expectedId}`,
    };
  }
  const miscMask = identity.miscselectMask;
  const misc = Uint8Array.of(
    qe.miscSelect & 0xff,
    (qe.miscSelect >>> 8) & 0xff,
    (qe.miscSelect >>> 16) & 0xff,
    qe.miscSelect >>> 24,
  );
  for (let i = 0; i < 4; i++) {
    if ((misc[i]! & miscMask[i]!) !== (identity.miscselect[i]! & miscMask[i]!)) {
      return { code: 'QeIdentityMismatch', detail: 'QE MISCSELECT does not match the QE identity' };
    }
  }
  for (let i = 0; i < 16; i++) {
    const mask = identity.attributesMask[i]!;
    if ((qe.attributes[i]! & mask) !== (identity.attributes[i]! & mask)) {
      return { code: 'QeIdentityMismatch', detail: 'QE ATTRIBUTES do not match the QE identity' };
    }
  }
  if (!sameBytes(qe.mrSigner, identity.mrsigner)) {
    return { code: 'QeIdentityMismatch', detail: 'QE MRSIGNER does not match the QE identity' };
  }
  if (qe.isvProdId !== identity.isvprodid) {
    return { code: 'QeIdentityMismatch', detail: 'QE ISVPRODID does not match the QE identity' };
  }
  const levels = [...identity.tcbLevels].sort((a, b) => b.tcb.isvsvn - a.tcb.isvsvn);
  const level = levels.find((l) => l.tcb.isvsvn <= qe.isvSvn);
  if (!level)
    return { code: 'TcbLevelNotFound', detail: `QE ISVSVN ${qe.isvSvn} is below every QE TCB level` };
  return { status: level.tcbStatus, advisoryIds: level.advisoryIDs };
}

function findModuleIdentity(tcbInfo: TcbInfo, version: number) {
  const id = `TDX_${version.toString(16).toUpperCase().padStart(2, '0')}`;
  return tcbInfo.tdxModuleIdentities?.find((m) => m.id.toUpperCase() === id);
}

/** TdxModuleCheck: the module's signer and attributes, and its status by ISVSVN. */
function tdxModuleStatus(tcbInfo: TcbInfo, td: TdReport): Status | { code: ReasonCode; detail: string } {
  const base = tcbInfo.tdxModule;
  if (!base) return { code: 'TcbInfoMismatch', detail: 'TDX TCB info has no tdxModule' };
  const isvSvn = td.teeTcbSvn[0]!;
  const version = td.teeTcbSvn[1]!;
  let expected = { mrsigner: base.mrsigner, attributes: base.attributes };
  let levels:
    | { tcb: { isvsvn: number }; tcbStatus: 'UpToDate' | 'OutOfDate' | 'Revoked'; advisoryIDs: string[] }[]
    | null = null;
  if (version > 0) {
    const identity = findModuleIdentity(tcbInfo, version);
    if (!identity)
      return { code: 'TdxModuleMismatch', detail: `no TDX module identity for version ${version}` };
    expected = identity;
    levels = [...identity.tcbLevels].sort((a, b) => b.tcb.isvsvn - a.tcb.isvsvn);
  }
  if (!sameBytes(td.mrSignerSeam, expected.mrsigner)) {
    return { code: 'TdxModuleMismatch', detail: 'MRSIGNERSEAM does not match the TDX module identity' };
  }
  // Intel's QVL requires SEAMATTRIBUTES to be zero and equal to the identity's attributes.
  if (td.seamAttributes.some((b, i) => b !== 0 || b !== expected.attributes[i])) {
    return { code: 'TdxModuleMismatch', detail: 'SEAMATTRIBUTES are not zero / do not match' };
  }
  if (!levels) return { status: 'UpToDate', advisoryIds: [] };
  const level = levels.find((l) => l.tcb.isvsvn <= isvSvn);
  if (!level) return { code: 'TcbLevelNotFound', detail: `TDX module ISVSVN ${isvSvn} is below every level` };
  return { status: level.tcbStatus, advisoryIds: level.advisoryIDs };
}

function meetsTdx(teeTcbSvn: Uint8Array, tdx: number[] | null): boolean {
  if (!tdx) return false;
  for (let i = teeTcbSvn[1]! > 0 ? 2 : 0; i < 16; i++) if (teeTcbSvn[i]! < tdx[i]!) return false;
  return true;
}

/** TDRelaunchCheck (TD report 1.5): a newer TDX module is already loaded, a relaunch would fix it. */
function relaunchStatus(
  td: TdReport,
  tcbInfo: TcbInfo,
  latest: Level,
  sgx: TcbStatus,
  tdx: TcbStatus,
  module: TcbStatus,
  qe: TcbStatus,
): TcbStatus | { code: ReasonCode; detail: string } {
  const svn2 = td.teeTcbSvn2;
  if (!svn2 || qe === 'OutOfDate' || qe === 'Revoked') return tdx;
  if (
    !['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded'].includes(
      sgx,
    )
  ) {
    return tdx;
  }
  if ((tdx !== 'OutOfDate' && tdx !== 'OutOfDateConfigurationNeeded') || module !== 'OutOfDate') return tdx;
  const latestTdx = latest.tdx ?? [];
  let newerLoaded: boolean;
  if (svn2[1] === 0) {
    newerLoaded = svn2[0]! >= (latestTdx[0] ?? 256) && svn2[2]! >= (latestTdx[2] ?? 256);
  } else {
    const identity = findModuleIdentity(tcbInfo, svn2[1]!);
    if (!identity)
      return { code: 'TdxModuleMismatch', detail: `no TDX module identity for version ${svn2[1]}` };
    const top = [...identity.tcbLevels].sort((a, b) => b.tcb.isvsvn - a.tcb.isvsvn)[0];
    if (!top) return { code: 'TcbLevelNotFound', detail: 'TDX module identity has no TCB level' };
    newerLoaded = svn2[0]! >= top.tcb.isvsvn && svn2[2]! >= (latestTdx[2] ?? 256);
  }
  if (!newerLoaded) return tdx;
  return isConfigurationNeeded(sgx) || isConfigurationNeeded(tdx)
    ? 'TDRelaunchAdvisedConfigurationNeeded'
    : 'TDRelaunchAdvised';
}

export function evaluateTcb(params: {
  quote: DcapQuote;
  pck: SgxExtension;
  tcbInfo: TcbInfo;
  qeIdentity: QeIdentity;
}): TcbVerdict {
  const { quote, pck, tcbInfo, qeIdentity } = params;
  const tee = quote.body.kind;
  const tcbId = tcbInfo.id ?? 'SGX';
  if (tee === 'tdx' && (tcbId !== 'TDX' || tcbInfo.version < 3)) {
    return fail('TcbInfoMismatch', `TDX quote with ${tcbId} v${tcbInfo.version} TCB info`);
  }
  if (tee === 'sgx' && tcbId !== 'SGX') return fail('TcbInfoMismatch', `SGX quote with ${tcbId} TCB info`);
  if (!sameBytes(pck.fmspc, tcbInfo.fmspc))
    return fail('TcbInfoMismatch', 'FMSPC of PCK certificate and TCB info differ');
  if (!sameBytes(pck.pceId, tcbInfo.pceId))
    return fail('TcbInfoMismatch', 'PCE-ID of PCK certificate and TCB info differ');

  const qe = qeIdentityStatus(quote.signatureData.qeReport, qeIdentity, tee);
  if ('code' in qe) return fail(qe.code, qe.detail);

  const levels = sortedLevels(tcbInfo, tee === 'tdx');
  const meetsSgx = (l: Level) =>
    pck.pceSvn >= l.pceSvn && pck.cpuSvnComponents.every((v, i) => v >= l.sgx[i]!);
  const sgxLevel = levels.find(meetsSgx);
  if (!sgxLevel) return fail('TcbLevelNotFound', 'the PCK certificate TCB is below every TCB level');
  const sgxStatus = sgxLevel.level.tcbStatus;

  let platform: Status;
  let module: Status = { status: 'UpToDate', advisoryIds: [] };
  if (quote.body.kind === 'tdx') {
    const td = quote.body.report;
    const tdxLevel = levels.find((l) => meetsSgx(l) && meetsTdx(td.teeTcbSvn, l.tdx));
    if (!tdxLevel) return fail('TcbLevelNotFound', 'TEE_TCB_SVN is below every TDX TCB level');
    const m = tdxModuleStatus(tcbInfo, td);
    if ('code' in m) return fail(m.code, m.detail);
    module = m;
    let tdxStatus = converge(tdxLevel.level.tcbStatus, module.status);
    if (tdxStatus !== 'Revoked' && quote.body.bodyType === 3) {
      const r = relaunchStatus(td, tcbInfo, levels[0]!, sgxStatus, tdxStatus, module.status, qe.status);
      if (typeof r !== 'string') return fail(r.code, r.detail);
      tdxStatus = r;
    }
    platform = { status: tdxStatus, advisoryIds: tdxLevel.level.advisoryIDs };
  } else {
    platform = { status: sgxStatus, advisoryIds: sgxLevel.level.advisoryIDs };
  }
  return {
    ok: true,
    status: converge(platform.status, qe.status),
    advisoryIds: mergeAdvisories(platform.advisoryIds, module.advisoryIds, qe.advisoryIds),
    qeStatus: qe.status,
    platformStatus: platform.status,
  };
}
