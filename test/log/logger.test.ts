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

describe('logger: a key once per line', () => {
  const keysOf = (line: string) => [...line.matchAll(/"([^"]+)":/g)].map((m) => m[1]);
  const once = (line: string) => {
    const keys = keysOf(line);
    expect(keys).toEqual([...new Set(keys)]);
  };

  it('a line repeating a bound key with the same value writes it once', () => {
    const { lines, logger } = capture();
    logger.child({ chain: 'evm' }).warn({ chain: 'evm', err: 'x' }, 'watch poll failed');
    once(lines[0]!);
    expect(JSON.parse(lines[0]!)).toMatchObject({ chain: 'evm', err: 'x', msg: 'watch poll failed' });
  });

  it('a child re-binding a key replaces it in place; a grandchild keeps every other binding', () => {
    const { lines, logger } = capture();
    const child = logger.child({ role: 'relayer', chain: 'evm' });
    child.child({ chain: 'evm', stage: 'confirm' }).info('a');
    child.child({ stage: 'submit' }).child({ chain: 'phala' }).info('b');
    for (const line of lines) once(line);
    expect(JSON.parse(lines[0]!)).toMatchObject({ role: 'relayer', chain: 'evm', stage: 'confirm' });
    expect(JSON.parse(lines[1]!)).toMatchObject({ role: 'relayer', chain: 'phala', stage: 'submit' });
    expect(keysOf(lines[1]!).indexOf('chain')).toBeLessThan(keysOf(lines[1]!).indexOf('stage'));
  });

  it("a line's own value wins over a different bound one, still written once", () => {
    const { lines, logger } = capture();
    const bound = logger.child({ stage: 'confirm', chain: 'evm' });
    bound.debug({ chain: 'other', nonce: 3 }, 'looked at a transaction');
    bound.info('after');
    once(lines[0]!);
    expect(JSON.parse(lines[0]!)).toMatchObject({ stage: 'confirm', chain: 'other', nonce: 3 });
    expect(JSON.parse(lines[1]!)).toMatchObject({ chain: 'evm' });
  });

  it('redaction and URL masking still apply to re-bound and repeated keys', () => {
    const { lines, logger } = capture();
    logger
      .child({ rpcUrl: 'http://user:pw@host:8545' })
      .child({ rpcUrl: 'http://user:pw2@host:8545', signer: '0xaaaa' })
      .info({ signer: '0xbbbb' }, 'x');
    once(lines[0]!);
    expect(lines[0]).not.toMatch(/pw|aaaa|bbbb/);
  });
});
