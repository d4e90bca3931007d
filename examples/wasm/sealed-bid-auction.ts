// The sealed-bid auction in AssemblyScript: the confidential half of
// contracts-solidity/examples/SealedBidAuction.sol, with the same formats and rules as
// examples/contracts/sealed-bid-auction.js. A second-price (Vickrey) auction whose bids live only
// in this contract's encrypted state; one instance per auction. Formats (ABI):
//   input  bid:    abi.encode(uint8 1, uint256 amount)    settle: abi.encode(uint8 2)
//   public bid:    abi.encode(uint8 1, bool accepted)
//          settle: abi.encode(uint8 2, bytes32 winningBid, uint256 price)
// Sealed outputs are the JavaScript contract's canonical JSON, byte for byte.
import {
  AbiReader,
  AbiWriter,
  Context,
  JsonObject,
  U256,
  fail,
  hex,
  input,
  jsonStringMember,
  jsonWithoutMember,
  output,
  reply,
  state,
} from "../../assembly/index";

// Deployment settings, part of the module (so of the code hash: the contract id pins them), as
// canonical JSON: {"auctioneer":<origin>|null,"bidders":"any"|[<origin>,...]}. An origin is
// compared with Context.originJson exactly (hex in lower case), its endUser left out unless the
// setting names one. Built in: no auctioneer (nobody can settle), anyone may bid. The spaces are
// room for other settings: a deployer rewrites this string in the compiled module, same length,
// padded with spaces (wasmAuctionContract in src/devnet/orchestrator/wasm-contracts.ts).
const SETTINGS = "{\"auctioneer\":null,\"bidders\":\"any\"}                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                             ";

const KIND_BID: u8 = 1;
const KIND_SETTLE: u8 = 2;
const BIDS = "bids";
const SETTLED = "settled";

class Bid {
  constructor(
    public id: Uint8Array,
    public amount: U256,
    public bidder: string,
  ) {}
}

class Result {
  constructor(
    public winner: Uint8Array,
    public price: U256,
    public bids: i32,
  ) {}

  toJson(): string {
    return new JsonObject()
      .int("bids", this.bids)
      .string("price", this.price.toDecimal())
      .string("winner", hex.encode(this.winner))
      .toString();
  }
}

// State: the bids one after another (id 32 bytes, amount 32 bytes, bidder length u16 LE, bidder
// UTF-8); the settlement as winner 32 bytes, price 32 bytes, bid count u32 LE.
function loadBids(): Array<Bid> {
  const bids = new Array<Bid>();
  const data = state.get(BIDS);
  if (data === null) return bids;
  let at = 0;
  while (at < data.length) {
    const id = data.slice(at, at + 32);
    const amount = new U256(data.slice(at + 32, at + 64));
    const len = <i32>data[at + 64] | (<i32>data[at + 65] << 8);
    const bidder = String.UTF8.decodeUnsafe(data.dataStart + at + 66, len);
    bids.push(new Bid(id, amount, bidder));
    at += 66 + len;
  }
  return bids;
}

function saveBids(bids: Array<Bid>): void {
  let size = 0;
  const names = new Array<ArrayBuffer>(bids.length);
  for (let i = 0; i < bids.length; i++) {
    names[i] = String.UTF8.encode(bids[i].bidder);
    size += 66 + names[i].byteLength;
  }
  const data = new Uint8Array(size);
  let at = 0;
  for (let i = 0; i < bids.length; i++) {
    data.set(bids[i].id, at);
    data.set(bids[i].amount.bytes, at + 32);
    const len = names[i].byteLength;
    data[at + 64] = <u8>len;
    data[at + 65] = <u8>(len >> 8);
    data.set(Uint8Array.wrap(names[i]), at + 66);
    at += 66 + len;
  }
  state.set(BIDS, data);
}

function loadResult(data: Uint8Array): Result {
  return new Result(data.slice(0, 32), new U256(data.slice(32, 64)), load<u32>(data.dataStart + 64));
}

function saveResult(result: Result): void {
  const data = new Uint8Array(68);
  data.set(result.winner, 0);
  data.set(result.price.bytes, 32);
  store<u32>(data.dataStart + 64, result.bids);
  state.set(SETTLED, data);
}

/** The settings string without its padding. */
function settings(): string {
  return SETTINGS.trimEnd();
}

/** The flat JSON object starting at `from` in `json` (origins hold no nested objects). */
function objectAt(json: string, from: i32): string {
  const end = json.indexOf("}", from);
  if (end < 0) fail("auction settings: malformed origin");
  return json.substring(from, end + 1);
}

function auctioneer(): string | null {
  const json = settings();
  const marker = '"auctioneer":';
  const at = json.indexOf(marker);
  if (at < 0) fail("auction settings: no auctioneer");
  const from = at + marker.length;
  if (json.charCodeAt(from) != 123) return null; // null
  return objectAt(json, from);
}

/** The origins that may bid, or null when anyone may. */
function bidders(): Array<string> | null {
  const json = settings();
  const marker = '"bidders":';
  const at = json.indexOf(marker);
  if (at < 0) fail("auction settings: no bidders");
  let from = at + marker.length;
  if (json.charCodeAt(from) != 91) return null; // "any"
  const out = new Array<string>();
  from++;
  while (json.charCodeAt(from) == 123) {
    const origin = objectAt(json, from);
    out.push(origin);
    from += origin.length;
    if (json.charCodeAt(from) == 44) from++;
  }
  return out;
}

/**
 * Whether this request comes from `setting` (canonical JSON). An auctioneer or bidder is a
 * requester (the consumer contract, or an account calling the gateway itself), whoever its caller:
 * the origin's endUser counts only when the setting names one.
 */
function sameOrigin(setting: string | null, originJson: string): bool {
  if (setting === null) return false;
  const mine = setting.includes('"endUser":') ? originJson : jsonWithoutMember(originJson, "endUser");
  return setting == mine;
}

function mayBid(originJson: string): bool {
  const allowed = bidders();
  if (allowed === null) return true;
  for (let i = 0; i < allowed.length; i++) if (sameOrigin(allowed[i], originJson)) return true;
  return false;
}

function kindOf(data: Uint8Array): u8 {
  if (data.length < 32) return 0;
  return new AbiReader(data.subarray(0, 32)).uint8();
}

export function handle(): void {
  const data = input();
  const bids = loadBids();
  const settled = state.get(SETTLED);
  const originJson = Context.originJson;
  const kind = kindOf(data);

  if (kind == KIND_BID) {
    const amount = data.length == 64 ? new AbiReader(data).skip(1).uint256() : new U256();
    const allowed = mayBid(originJson);
    const accepted = allowed && settled === null && !amount.isZero();
    // A bid is the end user's: an input sealed for one account does not open for another.
    const bidder = jsonStringMember(originJson, "endUser");
    if (accepted) {
      bids.push(new Bid(Context.requestId, amount, bidder !== null ? bidder : ""));
      saveBids(bids);
    }
    const reason: string | null = accepted
      ? null
      : !allowed
        ? "not a bidder"
        : settled !== null
          ? "settled"
          : "no amount";
    const sealed = new JsonObject()
      .bool("accepted", accepted)
      .string("amount", amount.toDecimal())
      .int("bidsSoFar", bids.length)
      .stringOrNull("reason", reason);
    if (bidder !== null) sealed.string("bidder", bidder);
    output(new AbiWriter().uint8(KIND_BID).bool(accepted).finish(), sealed.toString());
    return;
  }

  if (kind == KIND_SETTLE) {
    if (!sameOrigin(auctioneer(), originJson)) fail("only the auctioneer may settle");
    // Settling twice gives the same answer.
    const result = settled !== null ? loadResult(settled) : settle(bids);
    if (settled === null) saveResult(result);
    output(
      new AbiWriter().uint8(KIND_SETTLE).bytes32(result.winner).uint256(result.price).finish(),
      result.toJson(),
    );
    return;
  }
  fail("unknown request kind");
}

/** Highest amount wins; among equal amounts the earlier bid. The price is the second-highest bid. */
function settle(bids: Array<Bid>): Result {
  if (bids.length == 0) return new Result(new Uint8Array(32), new U256(), 0);
  let first = 0;
  for (let i = 1; i < bids.length; i++) if (bids[i].amount.compare(bids[first].amount) > 0) first = i;
  let second = -1;
  for (let i = 0; i < bids.length; i++) {
    if (i == first) continue;
    if (second < 0 || bids[i].amount.compare(bids[second].amount) > 0) second = i;
  }
  const price = second < 0 ? bids[first].amount : bids[second].amount;
  return new Result(bids[first].id, price, bids.length);
}

export function query(): void {
  reply(new JsonObject().int("bids", loadBids().length).bool("settled", state.has(SETTLED)).toString());
}
