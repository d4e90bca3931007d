import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ContractOrigin } from '../../pruntime/worker/request-check.js';

export type { ContractOrigin };

/**
 * The confidential contract every devnet deploys: it answers any origin, so the demo can send
 * the same request from Solidity, from a Phala-style extrinsic and over XCM. It greets the sender
 * publicly and tells them, sealed, how many greetings it has given (state kept on chain, sealed).
 */
export const GREETER_CONTRACT = `
export function handle(input, ctx) {
  const name = ctx.utf8.decode(input);
  const count = Number(ctx.state.get('count') ?? '0') + 1;
  ctx.state.set('count', String(count));
  return {
    public: 'hello, ' + name + '!',
    sealed: ctx.json.encode({ greeting: count, origin: ctx.origin.kind, secret: 'only you can read this' }),
  };
}
export function query(input, ctx) {
  return { count: Number(ctx.state.get('count') ?? '0') };
}
`;

/**
 * The confidential halves of the Solidity examples, as users copy them: `examples/contracts/*.js`
 * (read from the package, so the devnet runs exactly the files a user reads).
 */
export function exampleContract(name: 'private-check' | 'sealed-bid-auction'): string {
  return readFileSync(
    fileURLToPath(new URL(`../../../examples/contracts/${name}.js`, import.meta.url)),
    'utf8',
  );
}

export type AuctionSettings = {
  /** The only origin that may settle. */
  auctioneer: ContractOrigin;
  /** Who may bid: `'any'`, or these origins only (the escrowing Solidity contract, for one). */
  bidders: 'any' | ContractOrigin[];
};

const AUCTION_SETTINGS_LINE = /^const SETTINGS = .*;$/m;

/**
 * The sealed-bid auction's source with its deployment settings written in (they become part of
 * the code hash, so the contract id pins them). Hex is written in lower case, as ctx.origin has it.
 */
export function auctionContract(settings: AuctionSettings): string {
  const source = exampleContract('sealed-bid-auction');
  if (!AUCTION_SETTINGS_LINE.test(source))
    throw new Error('examples/contracts/sealed-bid-auction.js has no `const SETTINGS = …;` line');
  const lower = (o: ContractOrigin) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? v.toLowerCase() : v]));
  const written = {
    auctioneer: lower(settings.auctioneer),
    bidders: settings.bidders === 'any' ? 'any' : settings.bidders.map(lower),
  };
  return source.replace(AUCTION_SETTINGS_LINE, `const SETTINGS = ${JSON.stringify(written)};`);
}
