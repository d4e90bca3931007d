// The confidential half of contracts-solidity/examples/PrivateCheck.sol: the account seals its
// data, this contract applies the rule, and only "passed" becomes public (abi.encode(bool));
// the detail comes back sealed to the account's response key. Change the rule to your own.
//
// Input (sealed to this contract's key, for the PrivateCheck contract as requester and the account
// that calls check() as end user, ctx.origin.endUser):
//   {"score": <integer>}   e.g. a credit score from a report only the account should see
// The answer is the end user's: an input copied from another account's check() does not open for
// the copier (the end user is bound into the envelope), so nobody passes with someone else's data.
const THRESHOLD = 650;

export function handle(input, ctx) {
  let score = null;
  try {
    const data = ctx.json.decode(input);
    if (data !== null && typeof data === 'object' && Number.isInteger(data.score)) score = data.score;
  } catch (error) {
    score = null;
  }
  const passed = score !== null && score >= THRESHOLD;
  const detail =
    score === null
      ? { passed: false, reason: 'expected {"score": <integer>}' }
      : { passed, score, threshold: THRESHOLD, margin: score - THRESHOLD };
  detail.account = ctx.origin.endUser;
  return { public: ctx.abi.encode('bool', [passed]), sealed: ctx.json.encode(detail) };
}

export function query(input, ctx) {
  return { threshold: THRESHOLD };
}
