import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseDcapQuote, verifyQuote } from '../../../src/gatekeeper/attestation/index.js';
import { parseSgxExtension } from '../../../src/gatekeeper/attestation/sgx-extension.js';
import { parseCertificate, pemChain } from '../../../src/gatekeeper/attestation/x509.js';
import { type ParsedReport, quoteFiles, readParsed, readQuote } from './vectors.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * What the default policy says about two of the public quotes beyond the missing collateral:
 * automata's quote_sgx.bin is a DEBUG enclave (attributes 0x07), go-tdx-guest's SPR quote is a TD
 * without SEPT_VE_DISABLE (TD attributes 0x40000000: PKS only), which dcap-qvl refuses too.
 */
const policyFindings: Record<string, string[]> = {
  'automata__data_quote_sgx.bin': ['DebugEnclave'],
  'go-tdx-guest__tdx_prod_quote_SPR_E4.dat': ['TdAttributesNotAllowed'],
};

const title = 'real SGX/TDX quotes';

describe(title, () => {
  for (const name of quoteFiles) {
    it(`${name}: every field matches the independent parse`, () => {
      const bytes = readQuote(name);
      const want = readParsed(name);
      const q = parseDcapQuote(bytes);
      expect(bytes.length).toBe(want.total_len);
      expect(q.header.version).toBe(want.header.version);
      expect(q.header.attestationKeyType).toBe(want.header.attestation_key_type);
      expect(`0x${q.header.teeType.toString(16)}`).toBe(want.header.tee_type);
      expect(q.header.qeSvn).toBe(want.header.qe_svn);
      expect(q.header.pceSvn).toBe(want.header.pce_svn);
      expect(hex(q.header.qeVendorId)).toBe(want.header.qe_vendor_id);
      expect(hex(q.header.userData)).toBe(want.header.user_data);
      if (want.body) expect([q.body.bodyType, q.body.kind]).toEqual([want.body.type, 'tdx']);
      expect(q.signedBytes.length).toBe(want.signed_len);
      expect(q.trailingBytes).toBe(want.trailing_bytes);
      const r = want.report;
      if (q.body.kind === 'sgx') {
        const b = q.body.report;
        expect({
          cpu_svn: hex(b.cpuSvn),
          misc_select: b.miscSelect,
          attributes: hex(b.attributes),
          mr_enclave: hex(b.mrEnclave),
          mr_signer: hex(b.mrSigner),
          isv_prod_id: b.isvProdId,
          isv_svn: b.isvSvn,
          report_data: hex(b.reportData),
        }).toEqual(r);
      } else {
        const b = q.body.report;
        const got: ParsedReport = {
          tee_tcb_svn: hex(b.teeTcbSvn),
          mr_seam: hex(b.mrSeam),
          mr_signer_seam: hex(b.mrSignerSeam),
          seam_attributes: hex(b.seamAttributes),
          td_attributes: hex(b.tdAttributes),
          xfam: hex(b.xfam),
          mr_td: hex(b.mrTd),
          mr_config_id: hex(b.mrConfigId),
          mr_owner: hex(b.mrOwner),
          mr_owner_config: hex(b.mrOwnerConfig),
          rt_mr0: hex(b.rtmr[0]),
          rt_mr1: hex(b.rtmr[1]),
          rt_mr2: hex(b.rtmr[2]),
          rt_mr3: hex(b.rtmr[3]),
          report_data: hex(b.reportData),
        };
        if (b.teeTcbSvn2) got.tee_tcb_svn2 = hex(b.teeTcbSvn2);
        if (b.mrServiceTd) got.mr_servicetd = hex(b.mrServiceTd);
        expect(got).toEqual(r);
      }
      const s = q.signatureData;
      expect(hex(s.signature)).toBe(want.quote_signature);
      expect(hex(s.attestationKey)).toBe(want.attestation_key);
      expect({
        cpu_svn: hex(s.qeReport.cpuSvn),
        misc_select: s.qeReport.miscSelect,
        attributes: hex(s.qeReport.attributes),
        mr_enclave: hex(s.qeReport.mrEnclave),
        mr_signer: hex(s.qeReport.mrSigner),
        isv_prod_id: s.qeReport.isvProdId,
        isv_svn: s.qeReport.isvSvn,
        report_data: hex(s.qeReport.reportData),
      }).toEqual(want.qe_report);
      expect(hex(s.qeReportSignature)).toBe(want.qe_report_signature);
      expect(hex(s.qeAuthData)).toBe(want.qe_auth_data);
      expect(s.certification.type).toBe(want.cert_type);
      expect(s.certification.data.length).toBe(want.cert_data_len);
      const chain = pemChain(Buffer.from(s.certification.data).toString('latin1')).map(parseCertificate);
      expect(chain.map((c) => createHash('sha256').update(c.der).digest('hex'))).toEqual(
        want.pck_chain.map((c) => c.sha256_fp),
      );
      expect(chain.map((c) => c.notBefore)).toEqual(
        want.pck_chain.map((c) => Date.parse(c.not_before) / 1000),
      );
      expect(chain.map((c) => c.notAfter)).toEqual(want.pck_chain.map((c) => Date.parse(c.not_after) / 1000));
      expect(hex(parseSgxExtension(chain[0]!).fmspc)).toBe(want.fmspc);
    });

    it(`${name}: signatures, QE binding and PCK chain verify; only the collateral is missing`, () => {
      const bytes = readQuote(name);
      const q = parseDcapQuote(bytes);
      const want = readParsed(name);
      const measurement = `0x${hex(q.body.kind === 'sgx' ? q.body.report.mrEnclave : q.body.report.mrTd)}`;
      // a moment when every certificate of this quote's PCK chain is valid
      const at = Math.max(...want.pck_chain.map((c) => Date.parse(c.not_before) / 1000)) + 86_400;
      const result = verifyQuote(bytes, {
        policy: { allowedMeasurements: [measurement], allowServiceTd: true },
        at,
      });
      expect(result.reasons.map((r) => r.code)).toEqual([
        'MissingCollateral',
        ...(policyFindings[name] ?? []),
      ]);
      expect(result.ok).toBe(false);
      if (name === 'automata__data_quote_sgx.bin') {
        expect((want.report.attributes as string).slice(0, 2)).toBe('07');
        const relaxed = verifyQuote(bytes, {
          policy: { allowedMeasurements: [measurement], allowDebug: true },
          at,
        });
        expect(relaxed.reasons.map((r) => r.code)).toEqual(['MissingCollateral']);
      }
      expect(result.measurement).toBe(measurement);
      expect(result.reportData).toBe(`0x${want.report.report_data}`);
      expect(result.tee).toBe(q.body.kind);
      expect(result.details.fmspc).toBe(want.fmspc);
    });
  }
});
