import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  convertVersioned,
  type DecodedAssets,
  type DecodedLocation,
  type DecodedXcm,
  decodeVersioned,
  decodeXcm,
  decodeXcmpPage,
  encodeVersioned,
  formatXcm,
  locationText,
  type XcmKind,
  type XcmVersion,
} from '../../xcm/index.js';

type KindOption = { kind: XcmKind };

const kindOption = () =>
  new Option('-k, --kind <kind>', 'what the bytes are: a message, a location or assets')
    .choices(['xcm', 'location', 'assets'])
    .default('xcm');

/**
 * `phala-bridge xcm decode|encode|id|convert`: the XCM codec on the command line. A failure
 * (bytes that do not decode, JSON that does not fit) exits 1 with one line naming the reason.
 */
export function registerXcmCommand(program: Command): void {
  const xcm = program
    .command('xcm')
    .description('decode, encode, convert and identify XCM messages (V2 read-only, V3–V5)');

  xcm
    .command('decode')
    .description(
      'decode a VersionedXcm (or an XCMP page starting with its format byte 0x00), location or assets',
    )
    .argument('<hex>', '0x-hex bytes')
    .addOption(kindOption())
    .option('--json', 'print the polkadot-js JSON form with the message id and hash')
    .action((hex: string, options: KindOption & { json?: boolean }) => {
      if (options.kind === 'xcm' && /^0x00/i.test(hex.trim())) {
        const page = decodeXcmpPage(hex);
        if (!('messages' in page))
          throw new Error(`XCMP page of format ${page.format} carries no XCM messages`);
        if (options.json) return print({ format: page.format, messages: page.messages.map(summary) });
        const text = page.messages.map(
          (m, i) => `message ${i + 1} of ${page.messages.length}\n${formatXcm(m)}`,
        );
        return print(`XCMP page (${page.format})\n${text.join('\n\n')}`);
      }
      const decoded = decodeVersioned(options.kind, hex);
      if (options.json) return print(summary(decoded));
      print(describe(decoded));
    });

  xcm
    .command('encode')
    .description(
      'encode the polkadot-js JSON form of a versioned value, e.g. \'{"v4":[{"clearOrigin":null}]}\'',
    )
    .argument('<json>', 'the JSON text, or @file to read it from a file')
    .addOption(kindOption())
    .action((text: string, options: KindOption) => {
      const encoded = encodeVersioned(options.kind, parseJson(text));
      print(encoded.hex);
    });

  xcm
    .command('id')
    .description('print the message id: the trailing SetTopic, else blake2_256 of the message')
    .argument('<hex>', '0x-hex VersionedXcm bytes')
    .action((hex: string) => {
      print(decodeXcm(hex).id);
    });

  xcm
    .command('convert')
    .description('convert to another XCM version (V3, V4 or V5) and print the new bytes')
    .argument('<hex>', '0x-hex bytes')
    .requiredOption('--to <version>', 'target version: 3, 4 or 5', parseVersion)
    .addOption(kindOption())
    .option('--json', 'print the converted JSON as well')
    .action((hex: string, options: KindOption & { to: XcmVersion; json?: boolean }) => {
      const converted = convertVersioned(options.kind, hex, options.to);
      print(options.json ? summary(converted) : converted.hex);
    });
}

function summary(d: DecodedXcm | DecodedLocation | DecodedAssets): Record<string, unknown> {
  const base = { kind: d.kind, version: d.version, bytes: d.bytes.length, hex: d.hex };
  if (d.kind === 'xcm') return { ...base, id: d.id, hash: d.hash, topic: d.topic, json: d.json };
  return { ...base, json: d.json };
}

function describe(d: DecodedXcm | DecodedLocation | DecodedAssets): string {
  if (d.kind === 'xcm') return formatXcm(d);
  if (d.kind === 'location') return `Location V${d.version}: ${locationText(d.location)}`;
  return `Assets V${d.version}: ${JSON.stringify(d.assets)}`;
}

function parseJson(text: string): unknown {
  const source = text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text;
  try {
    return JSON.parse(source) as unknown;
  } catch (error) {
    throw new Error(`not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function parseVersion(value: string): XcmVersion {
  if (!/^[345]$/.test(value)) throw new InvalidArgumentError('expected 3, 4 or 5');
  return Number(value) as XcmVersion;
}

function print(value: unknown): void {
  process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
}
