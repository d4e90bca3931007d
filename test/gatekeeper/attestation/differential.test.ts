import { readFileSync } from 'node:fs';
import { Quote, QuoteVerifier } from '@phala/dcap-qvl';
import { describe, expect, it } from 'vitest';
import {
  type AttestationPolicyInput,
  type AttestationResult,
  acceptableTcbStatuses,
  parseDcapQuote,
  verifyQuote,
} from '../../../src/gatekeeper/attestation/index.js';
import { parseCrl } from '../../../src/gatekeeper/attestation/x509.js';
import { ScaleReader } from '../../../src/phala/light-client/scale.js';
import {
  IN_WINDOW,
  quoteFiles,
  readCollateral,
  readQuote,
  SGX_COLLATERAL,
  SGX_QUOTE,
  sgxDir,
  TDX_COLLATERAL,
  TDX_QUOTE,
} from './vectors.js';
import { prng } from '../../helpers/prng.js';

/**
 * Differential check (docs/attestation.md#differential-check): Phala's @phala/dcap-qvl (pure JS)
 * runs beside the project's verifier over every real quote and collateral in test/vectors/sgx,
 * every tampering of quote and collateral, and a seeded fuzz of both, with the same `now`. Both
 * must agree on accept/refuse, TCB status, advisory ids and measurement. The only differences
 * allowed are the library's known gaps (LIBRARY_GAPS), each where it fails open and the project
 * refuses; any other difference fails, and so does a listed gap that stops happening.
 */

type Collateral = Record<string, string>;
type Case = {
  name: string;
  quote: Uint8Array;
  collateral: Collateral | undefined;
  at: number;
  field?: string;
};
type Verdict = {
  accept: boolean;
  status: string | null;
  advisoryIds: string[];
  measurement: string | null;
  why: string;
};

/**
 * Codes the library has no notion of: it has no measurement allowlist or rules, no status policy,
 * no evaluation-number minimum and no report-data or freshness binding. The project's verdict is
 * compared with these left out; everything else (signatures, chains, CRLs, collateral, TCB
 * matching, debug and TD attribute checks) is judged by both.
 */
const POLICY_ONLY: readonly string[] = [
  'MeasurementNotAllowed',
  'MrTdMismatch',
  'RtmrMismatch',
  'MrConfigIdMismatch',
  'MrOwnerMismatch',
  'MrOwnerConfigMismatch',
  'MrEnclaveMismatch',
  'MrSignerMismatch',
  'IsvProdIdMismatch',
  'IsvSvnTooLow',
  'ConfigIdMismatch',
  'ConfigSvnTooLow',
  'TcbEvaluationTooOld',
  'TcbStatusNotAccepted',
  'StaleCollateral',
  'QuoteFreshnessMissing',
  'QuoteFreshnessMismatch',
  'QuoteStale',
  'ReportDataMismatch',
];

/** Every status but Revoked is accepted, so that the status itself is what gets compared. */
const policy: AttestationPolicyInput = { acceptTcbStatuses: [...acceptableTcbStatuses] };

function projectVerdict(c: Case): Verdict & { result: AttestationResult } {
  const result = verifyQuote(c.quote, { policy, collateral: c.collateral, at: c.at });
  const failures = result.reasons.filter((r) => !POLICY_ONLY.includes(r.code));
  return {
    accept: failures.length === 0,
    status: result.tcbStatus,
    advisoryIds: result.advisoryIds,
    measurement: result.measurement,
    why: failures.map((r) => `${r.code}: ${r.detail}`).join('; '),
    result,
  };
}

/** MRENCLAVE / MRTD as the library parses it (null when it cannot parse the quote). */
function libraryMeasurement(bytes: Uint8Array): string | null {
  try {
    const report = Quote.parse(bytes).report;
    const sgx = report.asSgx();
    const td = report.asTd10() ?? report.asTd15()?.base ?? null;
    const m = sgx ? sgx.mrEnclave : td ? td.mrTd : null;
    return m ? `0x${Buffer.from(m).toString('hex')}` : null;
  } catch {
    return null;
  }
}

const library = QuoteVerifier.newProd();

function libraryVerdict(c: Case): Verdict {
  const measurement = libraryMeasurement(c.quote);
  try {
    // the library takes the collateral as given: undefined makes it throw, which is a refusal
    const v = library.verify(c.quote, c.collateral as never, c.at);
    return { accept: true, status: v.status, advisoryIds: v.advisory_ids, measurement, why: '' };
  } catch (error) {
    const e = error as Error & { cause?: Error };
    const why = e.cause ? `${e.message}: ${e.cause.message}` : e.message;
    return { accept: false, status: null, advisoryIds: [], measurement, why };
  }
}

/**
 * Where @phala/dcap-qvl 0.3.9 fails open and the project refuses (read in its src/verify.js and
 * src/utils.js). A difference is expected only when the library accepts, the project refuses, and
 * every one of the project's reasons is about the part the library does not check.
 */
const LIBRARY_GAPS = {
  crlUnauthenticated: {
    why: "the library never verifies a CRL's signature or issuer: a forged CRL, or another CA's, is used as is",
    explains: (detail: string) =>
      /^(Root CA CRL|PCK CRL): (.*signature|issued by)|: no CRL from /.test(detail),
  },
  crlWindow: {
    why: "the library never checks a CRL's thisUpdate/nextUpdate: an expired CRL is used as is",
    explains: (detail: string) => /^(Root CA CRL|PCK CRL) (expired|is not valid before)/.test(detail),
  },
  crlUnreadable: {
    why: 'the library skips a CRL it cannot parse (catch and continue): revocation is then not checked',
    explains: (detail: string) => /^CRL: /.test(detail),
  },
  pckCrlIssuerChain: {
    why: 'the library never reads pck_crl_issuer_chain: a broken or foreign PCK CRL issuer chain passes',
    explains: (detail: string) => /^PCK CRL issuer chain|^PCK CRL: issued by/.test(detail),
  },
  pemOutsideText: {
    why: "the library skips bytes outside the PEM blocks of the quote's (unsigned) PCK chain; the project refuses them",
    explains: (detail: string) => /^PCK certificate chain: PEM: text outside certificate blocks/.test(detail),
  },
} as const;
type GapKind = keyof typeof LIBRARY_GAPS;

/** The named cases where a gap is expected (case → the gaps it shows); fuzz cases go by field. */
const EXPECTED_GAPS: Record<string, GapKind[]> = {
  // the TDX collateral's PCK CRL is the first thing to expire; in the SGX ones the QE identity is
  'TDX: at PCK CRL nextUpdate + 1': ['crlWindow'],
};
for (const q of ['SGX', 'TDX', 'SGX/phala-collateral'])
  Object.assign(EXPECTED_GAPS, {
    [`${q}: root CA CRL signature`]: ['crlUnauthenticated'],
    [`${q}: PCK CRL signature`]: ['crlUnauthenticated'],
    [`${q}: CRLs swapped`]: ['crlUnauthenticated'],
    [`${q}: root CA CRL unreadable`]: ['crlUnreadable'],
    [`${q}: PCK CRL unreadable`]: ['crlUnreadable'],
    [`${q}: PCK CRL issuer chain is the TCB signing chain`]: ['pckCrlIssuerChain'],
    [`${q}: PCK CRL issuer chain garbage`]: ['pckCrlIssuerChain'],
    [`${q}: PCK CRL issuer chain base64 flipped`]: ['pckCrlIssuerChain'],
  });

const CRL_FIELDS: Record<string, GapKind[]> = {
  root_ca_crl: ['crlUnauthenticated', 'crlUnreadable'],
  pck_crl: ['crlUnauthenticated', 'crlUnreadable', 'pckCrlIssuerChain'],
  pck_crl_issuer_chain: ['pckCrlIssuerChain'],
};

/** Phala's SgxV30QuoteCollateral (nine SCALE `Vec<u8>` fields, docs/attestation.md#collateral). */
function phalaCollateral(): Collateral {
  const bytes = new Uint8Array(
    readFileSync(`${sgxDir}/phala-blockchain__sgx-attestation_sample_dcap_quote_collateral.scale`),
  );
  const reader = new ScaleReader(bytes, 'SgxV30QuoteCollateral');
  const out: Collateral = {};
  for (const name of COLLATERAL_FIELDS) {
    const value = reader.vecU8();
    out[name] = name.endsWith('_signature')
      ? Buffer.from(value).toString('hex')
      : Buffer.from(value).toString('latin1');
  }
  reader.end();
  return out;
}
const COLLATERAL_FIELDS = [
  'pck_crl_issuer_chain',
  'root_ca_crl',
  'pck_crl',
  'tcb_info_issuer_chain',
  'tcb_info',
  'tcb_info_signature',
  'qe_identity_issuer_chain',
  'qe_identity',
  'qe_identity_signature',
] as const;

function flip(bytes: Uint8Array, offset: number, xor = 0x01): Uint8Array {
  const out = new Uint8Array(bytes);
  out[offset] = out[offset]! ^ xor;
  return out;
}
/** One base64 character changed into another, so the PEM still reads as PEM. */
function flipBase64(bytes: Uint8Array, offset: number): Uint8Array {
  const out = new Uint8Array(bytes);
  out[offset] = out[offset] === 0x41 ? 0x42 : 0x41;
  return out;
}
const flipHex = (h: string, at: number) => h.slice(0, at) + (h[at] === '0' ? '1' : '0') + h.slice(at + 1);
function flipPemText(pem: string, at: number): string {
  const i = pem.indexOf('-----BEGIN CERTIFICATE-----') + 28 + at;
  return pem.slice(0, i) + (pem[i] === 'A' ? 'B' : 'A') + pem.slice(i + 1);
}

/** Offsets of the quote's sections, from the project parser's own sub-arrays. */
function quoteTamperings(bytes: Uint8Array): [string, Uint8Array][] {
  const q = parseDcapQuote(bytes);
  const at = (sub: Uint8Array) => sub.byteOffset - bytes.byteOffset;
  const s = q.signatureData;
  const cert = at(s.certification.data);
  const pem = Buffer.from(s.certification.data).toString('latin1');
  const body = q.body.kind === 'sgx' ? q.body.report.mrEnclave : q.body.report.mrTd;
  return [
    ['header version 9', Object.assign(new Uint8Array(bytes), { 0: 9 })],
    ['header attestation key type 3', Object.assign(new Uint8Array(bytes), { 2: 3 })],
    ['header TEE type', flip(bytes, 4, 0x81)],
    ['header QE SVN', flip(bytes, 8)],
    ['header QE vendor id', flip(bytes, 12)],
    ['header user data', flip(bytes, at(q.header.userData))],
    ['body measurement', flip(bytes, at(body))],
    ['body report data', flip(bytes, at(q.body.report.reportData))],
    [
      'body debug attribute',
      flip(
        bytes,
        q.body.kind === 'sgx' ? at(q.body.report.attributes) : at(q.body.report.tdAttributes),
        q.body.kind === 'sgx' ? 0x02 : 0x01,
      ),
    ],
    ['quote signature', flip(bytes, at(s.signature) + 40)],
    ['attestation key', flip(bytes, at(s.attestationKey) + 5)],
    ['QE report', flip(bytes, at(s.qeReport.raw) + 320)],
    ['QE report data', flip(bytes, at(s.qeReport.reportData))],
    ['QE report signature', flip(bytes, at(s.qeReportSignature) + 3)],
    ['QE auth data', flip(bytes, at(s.qeAuthData))],
    ['certification data type', flip(bytes, cert - 6)],
    ['PCK leaf certificate', flipBase64(bytes, cert + pem.indexOf('-----BEGIN CERTIFICATE-----') + 28 + 400)],
    [
      'PCK CA certificate',
      flipBase64(bytes, cert + pem.indexOf('-----BEGIN CERTIFICATE-----', 100) + 28 + 300),
    ],
    [
      'root certificate in the chain',
      flipBase64(bytes, cert + pem.lastIndexOf('-----BEGIN CERTIFICATE-----') + 28 + 600),
    ],
    [
      'PCK chain without its leaf',
      (() => {
        // the leaf's PEM block blanked to spaces: same length, the chain now starts at the CA
        const out = new Uint8Array(bytes);
        const end = pem.indexOf('-----END CERTIFICATE-----') + 25;
        out.fill(0x20, cert, cert + end);
        return out;
      })(),
    ],
    ['truncated', bytes.subarray(0, 1000)],
    ['signature data length', flip(bytes, at(s.signature) - 2, 0x40)],
  ];
}

function collateralTamperings(c: Collateral): [string, Collateral][] {
  const tcb = c.tcb_info!;
  return [
    [
      'TCB info text',
      {
        ...c,
        tcb_info: tcb.replace(
          /"tcbEvaluationDataNumber":(\d+)/,
          (_, n) => `"tcbEvaluationDataNumber":${Number(n) + 1}`,
        ),
      },
    ],
    [
      'TCB info status downgrade',
      {
        ...c,
        tcb_info: tcb.replaceAll('"OutOfDate"', '"UpToDate"').replaceAll('SWHardeningNeeded"', 'UpToDate"'),
      },
    ],
    ['TCB info signature', { ...c, tcb_info_signature: flipHex(c.tcb_info_signature!, 10) }],
    ['TCB info issuer chain is the PCK CRL chain', { ...c, tcb_info_issuer_chain: c.pck_crl_issuer_chain! }],
    [
      'TCB info issuer chain base64 flipped',
      { ...c, tcb_info_issuer_chain: flipPemText(c.tcb_info_issuer_chain!, 300) },
    ],
    ['TCB info not JSON', { ...c, tcb_info: `${tcb}}` }],
    ['QE identity text', { ...c, qe_identity: c.qe_identity!.replace('"isvprodid":', ' "isvprodid":') }],
    ['QE identity signature', { ...c, qe_identity_signature: flipHex(c.qe_identity_signature!, 70) }],
    ['QE identity issuer chain garbage', { ...c, qe_identity_issuer_chain: 'not a PEM' }],
    [
      'QE identity issuer chain base64 flipped',
      { ...c, qe_identity_issuer_chain: flipPemText(c.qe_identity_issuer_chain!, 300) },
    ],
    ['root CA CRL signature', { ...c, root_ca_crl: flipHex(c.root_ca_crl!, c.root_ca_crl!.length - 10) }],
    ['root CA CRL unreadable', { ...c, root_ca_crl: `ff${c.root_ca_crl!.slice(2)}` }],
    ['PCK CRL signature', { ...c, pck_crl: flipHex(c.pck_crl!, c.pck_crl!.length - 12) }],
    ['PCK CRL unreadable', { ...c, pck_crl: `ff${c.pck_crl!.slice(2)}` }],
    ['CRLs swapped', { ...c, root_ca_crl: c.pck_crl!, pck_crl: c.root_ca_crl! }],
    [
      'PCK CRL issuer chain is the TCB signing chain',
      { ...c, pck_crl_issuer_chain: c.tcb_info_issuer_chain! },
    ],
    ['PCK CRL issuer chain garbage', { ...c, pck_crl_issuer_chain: 'not a PEM' }],
    [
      'PCK CRL issuer chain base64 flipped',
      { ...c, pck_crl_issuer_chain: flipPemText(c.pck_crl_issuer_chain!, 300) },
    ],
    ['QE identity field missing', { ...c, qe_identity: undefined as unknown as string }],
    ['TCB info field missing', { ...c, tcb_info: undefined as unknown as string }],
  ];
}

/** Each edge of each validity window of the collateral and of the quote's PCK chain. */
function windowEdges(c: Collateral): [string, number][] {
  const tcb = JSON.parse(c.tcb_info!) as { issueDate: string; nextUpdate: string };
  const qe = JSON.parse(c.qe_identity!) as { issueDate: string; nextUpdate: string };
  const rootCrl = parseCrl(new Uint8Array(Buffer.from(c.root_ca_crl!, 'hex')));
  const pckCrl = parseCrl(new Uint8Array(Buffer.from(c.pck_crl!, 'hex')));
  const s = (iso: string) => Date.parse(iso) / 1000;
  return [
    ['TCB info issueDate - 1', s(tcb.issueDate) - 1],
    ['TCB info nextUpdate + 1', s(tcb.nextUpdate) + 1],
    ['QE identity issueDate - 1', s(qe.issueDate) - 1],
    ['QE identity nextUpdate + 1', s(qe.nextUpdate) + 1],
    ['root CA CRL thisUpdate - 1', rootCrl.thisUpdate - 1],
    ['root CA CRL nextUpdate + 1', rootCrl.nextUpdate + 1],
    ['PCK CRL thisUpdate - 1', pckCrl.thisUpdate - 1],
    ['PCK CRL nextUpdate + 1', pckCrl.nextUpdate + 1],
    ['year 2023', Date.parse('2023-01-01') / 1000],
    ['year 2034', Date.parse('2034-01-01') / 1000],
  ];
}

const sgxCollateral = readCollateral(SGX_COLLATERAL);
const tdxCollateral = readCollateral(TDX_COLLATERAL);
const phala = phalaCollateral();
const PHALA_WINDOW = Date.parse('2023-11-22T00:00:00Z') / 1000;
const collaterals: [string, Collateral, number][] = [
  ['sgx collateral', sgxCollateral, IN_WINDOW],
  ['tdx collateral', tdxCollateral, IN_WINDOW],
  ['phala collateral', phala, PHALA_WINDOW],
];

function realCases(): Case[] {
  const cases: Case[] = [];
  for (const file of quoteFiles) {
    const quote = readQuote(file);
    for (const [cname, collateral, at] of collaterals)
      cases.push({ name: `${file} with ${cname}`, quote, collateral, at });
    cases.push({ name: `${file} without collateral`, quote, collateral: undefined, at: IN_WINDOW });
  }
  return cases;
}

const bases: [string, Uint8Array, Collateral, number][] = [
  ['SGX', readQuote(SGX_QUOTE), sgxCollateral, IN_WINDOW],
  ['TDX', readQuote(TDX_QUOTE), tdxCollateral, IN_WINDOW],
  ['SGX/phala-collateral', readQuote(SGX_QUOTE), phala, PHALA_WINDOW],
];

function tamperedCases(): Case[] {
  const cases: Case[] = [];
  for (const [b, quote, collateral, at] of bases) {
    for (const [n, q] of quoteTamperings(quote)) cases.push({ name: `${b}: ${n}`, quote: q, collateral, at });
    for (const [n, c] of collateralTamperings(collateral))
      cases.push({ name: `${b}: ${n}`, quote, collateral: c, at });
    for (const [n, t] of windowEdges(collateral))
      cases.push({ name: `${b}: at ${n}`, quote, collateral, at: t });
  }
  return cases;
}

/** Seeded mutations: 1-3 bytes of the quote, or 1-3 characters of one collateral field. */
function fuzzCases(seed: number, count: number): Case[] {
  const rand = prng(seed);
  const pick = (n: number) => Math.floor(rand() * n);
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const [b, quote, collateral, at] = bases[pick(bases.length)]!;
    if (i % 2 === 0) {
      const q = new Uint8Array(quote);
      for (let k = 0, n = 1 + pick(3); k < n; k++) q[pick(q.length)] = pick(256);
      cases.push({ name: `fuzz ${i}: ${b} quote bytes`, quote: q, collateral, at });
    } else {
      const field = COLLATERAL_FIELDS[pick(COLLATERAL_FIELDS.length)]!;
      let text = collateral[field]!;
      const hex = field === 'root_ca_crl' || field === 'pck_crl' || field.endsWith('_signature');
      for (let k = 0, n = 1 + pick(3); k < n; k++) {
        const j = pick(text.length);
        const ch = hex ? '0123456789abcdef'[pick(16)]! : String.fromCharCode(0x20 + pick(95));
        text = text.slice(0, j) + ch + text.slice(j + 1);
      }
      cases.push({
        name: `fuzz ${i}: ${b} ${field}`,
        quote,
        collateral: { ...collateral, [field]: text },
        at,
        field,
      });
    }
  }
  return cases;
}

type Difference = { name: string; project: Verdict; library: Verdict };

function compare(c: Case): Difference | null {
  const project = projectVerdict(c);
  const lib = libraryVerdict(c);
  const same =
    project.accept === lib.accept &&
    project.measurement === lib.measurement &&
    (!project.accept ||
      (project.status === lib.status && project.advisoryIds.join() === lib.advisoryIds.join()));
  return same ? null : { name: c.name, project, library: lib };
}

/** The gap a difference shows, or null: library accepts, project refuses, only for that reason. */
function gapOf(d: Difference, allowed: readonly GapKind[]): GapKind | null {
  if (!d.library.accept || d.project.accept || d.project.measurement !== d.library.measurement) return null;
  const details = d.project.why.split('; ').map((x) => x.slice(x.indexOf(': ') + 2));
  for (const kind of allowed) if (details.every((x) => LIBRARY_GAPS[kind].explains(x))) return kind;
  // several gaps at once (a broken PCK CRL is both unreadable-for-the-project and its issuer unread)
  if (details.every((x) => allowed.some((k) => LIBRARY_GAPS[k].explains(x)))) return allowed[0]!;
  return null;
}

const describeDiff = (d: Difference) =>
  `${d.name}\n  project: ${d.project.accept ? `accept ${d.project.status} [${d.project.advisoryIds}]` : `refuse (${d.project.why})`} ${d.project.measurement}\n  library: ${d.library.accept ? `accept ${d.library.status} [${d.library.advisoryIds}]` : `refuse (${d.library.why})`} ${d.library.measurement}`;

describe('differential check against @phala/dcap-qvl (same quote, collateral and now)', () => {
  it('every real quote with every real collateral (and none): identical verdicts', () => {
    const cases = realCases();
    expect(cases.length).toBe(quoteFiles.length * 4);
    const diffs = cases.map(compare).filter((d) => d !== null);
    expect(diffs.map(describeDiff)).toEqual([]);
    // not a vacuous agreement: the matching pairs verify in both, with a status
    const accepted = cases.filter((c) => projectVerdict(c).accept).map((c) => c.name);
    expect(accepted).toEqual(
      expect.arrayContaining([
        `${SGX_QUOTE} with sgx collateral`,
        `${SGX_QUOTE} with phala collateral`,
        `${TDX_QUOTE} with tdx collateral`,
      ]),
    );
  });

  it('every tampering of quote and collateral and every window edge: only the listed library gaps differ', () => {
    const cases = tamperedCases();
    const diffs = cases.map(compare).filter((d) => d !== null);
    const unexpected = diffs.filter((d) => {
      const kinds = EXPECTED_GAPS[d.name];
      return !kinds || gapOf(d, kinds) === null;
    });
    expect(unexpected.map(describeDiff)).toEqual([]);
    // every listed gap still happens: a library release that closes one must shrink the list
    expect(diffs.map((d) => d.name).sort()).toEqual(Object.keys(EXPECTED_GAPS).sort());
    // the tampered cases are refused by the project: only the untouched window interior passes
    for (const c of cases) if (!c.name.includes(' at ')) expect(projectVerdict(c).accept, c.name).toBe(false);
    console.info(
      `differential: ${cases.length} tampered cases, ${diffs.length} library gaps:\n${diffs
        .map((d) => `  ${d.name}: ${LIBRARY_GAPS[gapOf(d, EXPECTED_GAPS[d.name]!)!].why}`)
        .join('\n')}`,
    );
  });

  it('a seeded fuzz of quote bytes and collateral fields (400 cases): only the listed library gaps differ', () => {
    const cases = fuzzCases(0x14d1ff, 400);
    const diffs = cases.map(compare).filter((d) => d !== null);
    const unexpected = diffs.filter((d) => {
      const c = cases.find((x) => x.name === d.name)!;
      const allowed = c.field ? CRL_FIELDS[c.field] : (['pemOutsideText'] as const);
      return !allowed || gapOf(d, allowed) === null;
    });
    expect(unexpected.map(describeDiff)).toEqual([]);
    const kinds = new Map<string, number>();
    for (const d of diffs) {
      const c = cases.find((x) => x.name === d.name)!;
      const kind = gapOf(d, c.field ? CRL_FIELDS[c.field]! : ['pemOutsideText'])!;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    // not vacuous: most mutations are refused by both, and the gaps are the known kinds
    expect(cases.filter((c) => !projectVerdict(c).accept).length).toBeGreaterThan(cases.length * 0.8);
    console.info(
      `differential fuzz: ${cases.length} cases, ${diffs.length} library gaps`,
      Object.fromEntries(kinds),
    );
  });
});
