import type { PhalaClient } from '../client.js';
import { submit } from '../client.js';
import type { Signer, SubmitResult } from '../submit.js';
import { type ActionOptions, type Bytes, hexOf } from './common.js';

/** Balances: what dev setups need (fund a worker's ecdsa account, read a balance). */

export function transfer(
  client: PhalaClient,
  p: { signer: Signer; to: Bytes | string; amount: bigint; keepAlive?: boolean } & ActionOptions,
): Promise<SubmitResult> {
  const to = typeof p.to === 'string' && !p.to.startsWith('0x') ? p.to : hexOf(p.to as Bytes, 'to', 32);
  const call =
    p.keepAlive === false
      ? client.api.tx.balances.transferAllowDeath(to, p.amount)
      : client.api.tx.balances.transferKeepAlive(to, p.amount);
  return submit(client, call, p.signer, p);
}

export async function freeBalance(client: PhalaClient, account: Bytes | string): Promise<bigint> {
  const who =
    typeof account === 'string' && !account.startsWith('0x')
      ? account
      : hexOf(account as Bytes, 'account', 32);
  const info = (await client.api.query.system.account(who)) as unknown as {
    data: { free: { toBigInt(): bigint } };
  };
  return info.data.free.toBigInt();
}
