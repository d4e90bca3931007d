// A compute-heavy contract: a SHA-256 hash chain computed in the contract. Measured in a worker's
// engine: about 1.3 µs and 101 gas a round, where a QuickJS contract running the same algorithm
// takes about 160 µs a round; the default 20M-gas budget holds about 190,000 rounds. The chain's
// seed is the requester's secret, so only the head is public: a commitment to `rounds` of
// sequential work the requester can later open.
// Formats (ABI, for a Solidity consumer):
//   input:  abi.encode(uint256 rounds, bytes32 seed)      rounds 1 to 10,000,000
//   public: abi.encode(bytes32 head, uint256 rounds)      head = SHA-256 applied `rounds` times
//   sealed: {"head":"0x…","rounds":N,"totalRounds":M}     M: rounds this contract has computed
// Query: {"totalRounds":M}.
import { AbiReader, AbiWriter, JsonObject, fail, hex, input, output, reply, state } from "../../assembly/index";
import { sha256Chain } from "./lib/sha256";

const MAX_ROUNDS: u64 = 10_000_000;
const TOTAL = "totalRounds";

function totalRounds(): i64 {
  const stored = state.getString(TOTAL);
  return stored === null ? 0 : i64.parse(stored);
}

export function handle(): void {
  const reader = new AbiReader(input());
  if (reader.remaining != 2) fail("hash-chain: input is abi.encode(uint256 rounds, bytes32 seed)");
  const roundsWord = reader.uint256();
  const seed = reader.bytes32();
  // rounds fits in the word's last 8 bytes when it is in range.
  for (let i = 0; i < 24; i++) if (roundsWord.bytes[i] != 0) fail("hash-chain: too many rounds");
  const rounds = bswap<u64>(load<u64>(roundsWord.bytes.dataStart + 24));
  if (rounds == 0 || rounds > MAX_ROUNDS) fail("hash-chain: rounds must be 1 to 10,000,000");

  const head = sha256Chain(seed, <u32>rounds);
  const total = totalRounds() + <i64>rounds;
  state.set(TOTAL, total.toString());
  output(
    new AbiWriter().bytes32(head).uint64(rounds).finish(),
    new JsonObject()
      .string("head", hex.encode(head))
      .int("rounds", <i64>rounds)
      .int("totalRounds", total)
      .toString(),
  );
}

export function query(): void {
  reply(new JsonObject().int("totalRounds", totalRounds()).toString());
}
