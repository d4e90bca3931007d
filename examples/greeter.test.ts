// A copyable test of a confidential contract with phala-bridge/testing (docs/testing.md).
// It runs under vitest as is; greeter.node-test.ts is the same test under node:test.
import { requestFromEvm, requestFromPhala } from 'phala-bridge/sdk';
import {
  type Devnet,
  evmAccount,
  expectFulfilled,
  startDevnet,
  substrateAccount,
} from 'phala-bridge/testing';
import { afterAll, beforeAll, expect, test } from 'vitest';

let devnet: Devnet;
beforeAll(async () => {
  devnet = await startDevnet(); // the whole system, ~15 s; share it across the file's tests
}, 120_000);
afterAll(() => devnet?.stop());

test('the greeter answers an EVM account', async () => {
  const { walletClient, publicClient } = evmAccount(devnet, 3);
  const sent = await requestFromEvm(walletClient, {
    publicClient,
    gateway: devnet.chains.evm.gateway,
    contractId: devnet.contracts.greeter.contractId,
    input: 'ada',
  });
  const result = await expectFulfilled(devnet, sent, {
    publicOutput: 'hello, ada!',
    responseSecretKey: sent.responseSecretKey,
  });
  const sealed = JSON.parse(new TextDecoder().decode(result.sealed));
  expect(sealed.origin).toBe('evm');
}, 120_000);

test('the greeter answers a Phala-style account', async () => {
  const sent = await requestFromPhala(devnet.phala, {
    signer: await substrateAccount('Eve'),
    contractId: devnet.contracts.greeter.contractId,
    input: 'grace',
  });
  const result = await expectFulfilled(devnet, sent, { responseSecretKey: sent.responseSecretKey });
  expect(result.publicText).toBe('hello, grace!');
}, 120_000);
