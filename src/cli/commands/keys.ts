import type { Command } from 'commander';
import { toHex } from '../../base/bytes.js';
import { ethereumAddress, generateKeyPair } from '../../crypto/keys.js';
import { printJson } from '../io.js';

export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('Key utilities');
  keys
    .command('generate')
    .description('Print a new key set (secp256k1 signing, X25519 encryption, Ed25519) as JSON')
    .action(() => {
      const signing = generateKeyPair('secp256k1');
      const encryption = generateKeyPair('x25519');
      const ed25519 = generateKeyPair('ed25519');
      printJson({
        secp256k1: {
          secretKey: toHex(signing.secretKey),
          publicKey: toHex(signing.publicKey),
          address: ethereumAddress(signing.publicKey),
        },
        x25519: { secretKey: toHex(encryption.secretKey), publicKey: toHex(encryption.publicKey) },
        ed25519: { secretKey: toHex(ed25519.secretKey), publicKey: toHex(ed25519.publicKey) },
      });
    });
}
