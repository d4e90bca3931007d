// examples/greeter.test.ts under node:test (docs/testing.md): the helpers only throw, so any
// runner works. Run: node --import tsx --test examples/greeter.node-test.ts
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { requestFromEvm, requestFromPhala } from 'phala-bridge/sdk';
import {
  type Devnet,
  evmAccount,
  expectFulfilled,
  startDevnet,
  substrateAccount,
} from 'phala-bridge/testing';

let devnet: Devnet;
before(async () => {
  devnet = await startDevnet(); // the whole system, ~15 s; share it across the file's tests
});
after(() => devnet?.stop());

test('the greeter answers an EVM account', async () => {
  const { walletClient, publicClient } = evmAccount(devnet, 4);
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
  assert.equal(sealed.origin, 'evm');
});

test('the greeter answers a Phala-style account', async () => {
  const sent = await requestFromPhala(devnet.phala, {
    signer: await substrateAccount('Ferdie'),
    contractId: devnet.contracts.greeter.contractId,
    input: 'grace',
  });
  const result = await expectFulfilled(devnet, sent, { responseSecretKey: sent.responseSecretKey });
  assert.equal(result.publicText, 'hello, grace!');
});
