import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.js';
import { createLogger } from '../../src/log/logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ destination, level: 'debug' }) };
}

describe('logger', () => {
  it('writes JSON lines and redacts secret fields at any of the first three levels', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        signer: '0xaaaa',
        chain: { rpcUrl: 'http://x', privateKey: '0xbbbb' },
        deep: { a: { secretKey: '0xcccc' } },
        requestId: '0x01',
      },
      'hello',
    );
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record.msg).toBe('hello');
    expect(record.requestId).toBe('0x01');
    expect(lines[0]).not.toMatch(/aaaa|bbbb|cccc/);
    expect(lines[0]).toContain('[redacted]');
  });

  it('prints Secret objects masked wherever they sit', () => {
    const { lines, logger } = capture();
    logger.info({ config: { anything: new Secret('0xdddd', 'env X') } }, 'config');
    expect(lines[0]).not.toContain('dddd');
    expect(lines[0]).toContain('[secret from env X]');
  });
});
