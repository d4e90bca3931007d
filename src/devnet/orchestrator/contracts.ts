import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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
