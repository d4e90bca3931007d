// The confidential half of contracts-solidity/examples/SealedBidAuction.sol: a second-price
// (Vickrey) auction whose bids live only in this contract's encrypted state. One instance per
// auction. Formats (ABI, as the Solidity contract documents):
//   input  bid:    abi.encode(uint8 1, uint256 amount)    settle: abi.encode(uint8 2)
//   public bid:    abi.encode(uint8 1, bool accepted)
//          settle: abi.encode(uint8 2, bytes32 winningBid, uint256 price)
// Inputs are sealed for the auction contract as requester, so only requests made through it
// (its bid() and settle()) can be opened here: nobody can settle early through the gateway.
const KIND_BID = 1;
const KIND_SETTLE = 2;
const ZERO = `0x${'00'.repeat(32)}`;

function kindOf(input, ctx) {
  if (input.length < 32) return 0;
  return Number(ctx.abi.decode('uint8', input.slice(0, 32))[0]);
}

export function handle(input, ctx) {
  const bids = ctx.json.decode(ctx.state.get('bids') ?? '[]');
  const settled = ctx.state.get('settled');
  const kind = kindOf(input, ctx);

  if (kind === KIND_BID) {
    const amount = input.length === 64 ? ctx.abi.decode('uint8, uint256', input)[1] : 0n;
    const accepted = !settled && amount > 0n;
    if (accepted) {
      bids.push({ id: ctx.requestId, amount: amount.toString() });
      ctx.state.set('bids', ctx.json.encode(bids));
    }
    return {
      public: ctx.abi.encode('uint8, bool', [KIND_BID, accepted]),
      sealed: ctx.json.encode({ accepted, amount: amount.toString(), bidsSoFar: bids.length }),
    };
  }

  if (kind === KIND_SETTLE) {
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
