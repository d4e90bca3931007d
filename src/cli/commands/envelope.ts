import type { Command } from 'commander';
import { toHex } from '../../base/bytes.js';
import { type EnvelopePurpose, envelopePurposes, openEnvelope, sealEnvelope } from '../../crypto/envelope.js';
import { choiceArgument, hexArgument, readStdin } from '../io.js';

const purposes = Object.keys(envelopePurposes) as EnvelopePurpose[];

export function registerEnvelopeCommand(program: Command): void {
  const envelope = program.command('envelope').description('Seal and open envelope v1 (docs/PROTOCOL.md §2)');
  envelope
    .command('seal')
    .description('Seal the plaintext on stdin; print the envelope as hex')
    .requiredOption('--to <x25519 public key hex>', 'recipient public key', hexArgument('--to', 32))
    .requiredOption('--purpose <purpose>', purposes.join('|'), choiceArgument(purposes))
    .option('--context <hex>', 'context bytes (default: empty)', hexArgument('--context'))
    .action(async (opts: { to: Uint8Array; purpose: EnvelopePurpose; context?: Uint8Array }) => {
      const plaintext = await readStdin();
      const sealed = sealEnvelope({
        recipientPublicKey: opts.to,
        purpose: opts.purpose,
        context: opts.context ?? new Uint8Array(),
        plaintext,
      });
      process.stdout.write(`${toHex(sealed)}\n`);
    });
  envelope
    .command('open')
    .description(
      'Open the envelope hex on stdin; write the plaintext to stdout (exit 1 if it cannot be opened)',
    )
    .requiredOption('--key <x25519 secret key hex>', 'recipient secret key', hexArgument('--key', 32))
    .requiredOption('--purpose <purpose>', purposes.join('|'), choiceArgument(purposes))
    .option('--context <hex>', 'context bytes (default: empty)', hexArgument('--context'))
    .action(async (opts: { key: Uint8Array; purpose: EnvelopePurpose; context?: Uint8Array }) => {
      const text = Buffer.from(await readStdin())
        .toString('utf8')
        .trim();
      const bytes = hexArgument('envelope on stdin')(text);
      const plaintext = openEnvelope({
        recipientSecretKey: opts.key,
        purpose: opts.purpose,
        context: opts.context ?? new Uint8Array(),
        envelope: bytes,
      });
      process.stdout.write(plaintext);
    });
}
