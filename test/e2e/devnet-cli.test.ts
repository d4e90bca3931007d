import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/phala-bridge.js');

/**
 * `npm start -- --demo` as a newcomer runs it: the real CLI in a child process, every role started,
 * the three flows and a WebAssembly contract's answer printed, then Ctrl-C (SIGINT) stops everything and the process exits cleanly.
 */
describe('phala-bridge devnet --demo (sim TEE)', () => {
  it('starts everything, runs one request per origin, prints journeys, and stops on SIGINT', async () => {
    const child = spawn(process.execPath, [bin, 'devnet', '--demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += String(d);
    });
    const running = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += String(d);
        if (stdout.includes('Ctrl-C stops everything')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited early (${code}): ${stderr.slice(-2000)}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await running;
      expect(stdout).toContain('devnet ready');
      for (const endpoint of [
        'relay chain',
        'phala-style (para 2035)',
        'sibling (para 2000)',
        'gateway',
        'relayer admin',
      ])
        expect(stdout).toContain(endpoint);
      expect(stdout).toContain('public: hello, Solidity!');
      expect(stdout).toContain('public: hello, Substrate!');
      expect(stdout).toContain('public: hello, XCM!');
      expect(stdout).toContain('xcm-processed');
      // And one request to the WebAssembly greeter, named as such.
      expect(stdout).toContain('wasm-greeter("WebAssembly") — a WebAssembly contract');
      expect(stdout).toContain('public: hello, WebAssembly!');
      expect(stdout).toContain('demo: all three flows and the WebAssembly contract completed');
      const started = Date.now();
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(stdout).toContain('stopped');
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 180_000);
});
