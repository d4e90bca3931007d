// Written by scripts/record-tapes.ts: examples/contracts/sealed-bid-auction.js with its settings
// (any bidder; EVM account 2 of the devnet settles). Replaying auction.ndjson needs it deployed.
// The confidential half of contracts-solidity/examples/SealedBidAuction.sol: a second-price
// (Vickrey) auction whose bids live only in this contract's encrypted state. One instance per
// auction. Formats (ABI, as the Solidity contract documents):
//   input  bid:    abi.encode(uint8 1, uint256 amount)    settle: abi.encode(uint8 2)
//   public bid:    abi.encode(uint8 1, bool accepted)
//          settle: abi.encode(uint8 2, bytes32 winningBid, uint256 price)
//
// Deployment settings, written into this file before it is deployed so that they are part of the
// code hash (the contract id pins them; nobody can change them afterwards). Origins are compared
// with ctx.origin exactly, hex in lower case, endUser left out unless given, e.g.
//   { "kind": "evm", "chainId": 31337, "gateway": "0x…", "requester": "0x…" }
// A bid is the end user's (ctx.origin.endUser: the account that called the consumer contract, or
// the requester itself): an input sealed for one account does not open for another, so nobody
// can place a copy of someone else's sealed bid.
//   auctioneer: the only origin that may settle (bidding ends when it does). Unset: no settlement.
//   bidders: "any", or the origins that may bid. An escrowing consumer such as
//            SealedBidAuction.sol must be the only bidder: a bid placed around it holds no
//            deposit, and could win only to leave nothing sold.
const SETTINGS = {"auctioneer":{"kind":"evm","chainId":31337,"gateway":"0x5fbdb2315678afecb367f032d93f642f64180aa3","requester":"0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"},"bidders":"any"};

const KIND_BID = 1;
const KIND_SETTLE = 2;
const ZERO = `0x${'00'.repeat(32)}`;

function kindOf(input, ctx) {
  if (input.length < 32) return 0;
  return Number(ctx.abi.decode('uint8', input.slice(0, 32))[0]);
}

function sameOrigin(a, ctx) {
  // ctx.json.encode gives bytes: compare their hex. ctx.origin.endUser (who the request is for) is
  // left out unless the setting names one: an auctioneer or bidder is a requester (the consumer
  // contract, or an account calling the gateway itself), whoever its caller.
  const canonical = (v) => ctx.hex.encode(ctx.json.encode(v));
  if (a === null) return false;
  const { endUser, ...origin } = ctx.origin;
  return canonical(a) === canonical('endUser' in a ? ctx.origin : origin);
}

function mayBid(ctx) {
  return SETTINGS.bidders === 'any' || SETTINGS.bidders.some((o) => sameOrigin(o, ctx));
}

export function handle(input, ctx) {
  const bids = ctx.json.decode(ctx.state.get('bids') ?? '[]');
  const settled = ctx.state.get('settled');
  const kind = kindOf(input, ctx);

  if (kind === KIND_BID) {
    const amount = input.length === 64 ? ctx.abi.decode('uint8, uint256', input)[1] : 0n;
    const allowed = mayBid(ctx);
    const accepted = allowed && !settled && amount > 0n;
    if (accepted) {
      bids.push({ id: ctx.requestId, amount: amount.toString(), bidder: ctx.origin.endUser });
      ctx.state.set('bids', ctx.json.encode(bids));
    }
    const reason = accepted ? null : !allowed ? 'not a bidder' : settled ? 'settled' : 'no amount';
    return {
      public: ctx.abi.encode('uint8, bool', [KIND_BID, accepted]),
      sealed: ctx.json.encode({
        accepted,
        bidder: ctx.origin.endUser,
        amount: amount.toString(),
        bidsSoFar: bids.length,
        reason,
      }),
    };
  }

  if (kind === KIND_SETTLE) {
    if (!sameOrigin(SETTINGS.auctioneer, ctx)) throw new Error('only the auctioneer may settle');
    // Settling twice gives the same answer.
    const result = settled ? ctx.json.decode(settled) : settle(bids);
    if (!settled) ctx.state.set('settled', ctx.json.encode(result));
    return {
      public: ctx.abi.encode('uint8, bytes32, uint256', [KIND_SETTLE, result.winner, BigInt(result.price)]),
      sealed: ctx.json.encode(result),
    };
  }
  throw new Error('unknown request kind');
}

function settle(bids) {
  // Highest amount wins; among equal amounts the earlier bid. The price is the second-highest bid.
  const ranked = bids
    .map((b, i) => ({ ...b, i }))
    .sort((a, b) => {
      const d = BigInt(b.amount) - BigInt(a.amount);
      return d > 0n ? 1 : d < 0n ? -1 : a.i - b.i;
    });
  if (ranked.length === 0) return { winner: ZERO, price: '0', bids: 0 };
  const price = ranked.length > 1 ? ranked[1].amount : ranked[0].amount;
  return { winner: ranked[0].id, price, bids: ranked.length };
}

export function query(input, ctx) {
  const bids = ctx.json.decode(ctx.state.get('bids') ?? '[]');
  return { bids: bids.length, settled: ctx.state.get('settled') !== null };
}
