// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {IConfidentialConsumer} from "./interfaces/IConfidentialConsumer.sol";
import {IPhalaBridgeGateway} from "./interfaces/IPhalaBridgeGateway.sol";

/// @title ConfidentialConsumer
/// @notice Base contract for programs that call confidential contracts through a
/// PhalaBridgeGateway. Inherit it, send requests with `_requestConfidential`, and receive results
/// in `_onConfidentialResult`.
/// @dev How a request travels:
/// 1. A client seals the input (envelope v1, purpose "request input") to the confidential
///    contract's public key, which `gateway.contractOf(contractId).publicKey` gives, for this
///    contract as requester and its own account as end user, and picks an X25519 response key.
/// 2. Your contract calls `_requestConfidential`; the gateway stores a commitment and emits
///    `RequestSent`; a relayer takes it to a worker of the contract's cluster.
/// 3. The worker's signed result comes back through `gateway.fulfill`, which calls
///    `onConfidentialResult` here with exactly `callbackGasLimit` gas. A revert or an out-of-gas in
///    your callback does not undo the fulfillment: the gateway records `CallbackFailed` and the
///    request is gone, so keep `_onConfidentialResult` cheap, bounded and non-reverting where you
///    can (store, then let users act in a later transaction).
/// Only the gateway can call `onConfidentialResult`, and it only ever does so for requests that
/// this contract made, once per request.
abstract contract ConfidentialConsumer is IConfidentialConsumer {
    /// @notice The gateway this consumer sends requests through and accepts results from.
    IPhalaBridgeGateway public immutable gateway;

    /// @notice A caller other than the gateway tried to deliver a result.
    error OnlyGateway(address caller);

    /// @param gateway_ The PhalaBridgeGateway on this chain.
    constructor(IPhalaBridgeGateway gateway_) {
        gateway = gateway_;
    }

    /// @inheritdoc IConfidentialConsumer
    function onConfidentialResult(bytes32 requestId, bytes calldata publicOutput, bytes calldata sealedOutput)
        external
    {
        if (msg.sender != address(gateway)) revert OnlyGateway(msg.sender);
        _onConfidentialResult(requestId, publicOutput, sealedOutput);
    }

    /// @notice Sends a request to a confidential contract for `msg.sender` (the end user): the
    /// input must have been sealed for this contract as requester and `msg.sender` as end user, so
    /// an input copied from another account's transaction does not open for the copier.
    /// @param contractId The confidential contract (registered on the gateway by the gatekeepers).
    /// @param sealedInput The input sealed to the contract's public key by the client.
    /// @param responseKey X25519 public key the worker seals the sealed output to.
    /// @param callbackGasLimit Exact gas for `_onConfidentialResult` (at most
    /// `gateway.MAX_CALLBACK_GAS()`); measure your callback and add a margin.
    /// @param deadline Unix time after which no result is accepted; from then on `_cancelConfidential`
    /// can withdraw the request.
    /// @return requestId The request's id; `_onConfidentialResult` receives the same id.
    function _requestConfidential(
        bytes32 contractId,
        bytes calldata sealedInput,
        bytes32 responseKey,
        uint32 callbackGasLimit,
        uint64 deadline
    ) internal returns (bytes32 requestId) {
        return gateway.requestFor(msg.sender, contractId, sealedInput, responseKey, callbackGasLimit, deadline);
    }

    /// @notice Like `_requestConfidential`, for an end user other than `msg.sender` (a contract
    /// that acts for accounts that reach it some other way, e.g. a signed message). Never pass an
    /// account that did not ask: the confidential contract credits the request to it.
    function _requestConfidentialFor(
        address endUser,
        bytes32 contractId,
        bytes calldata sealedInput,
        bytes32 responseKey,
        uint32 callbackGasLimit,
        uint64 deadline
    ) internal returns (bytes32 requestId) {
        return gateway.requestFor(endUser, contractId, sealedInput, responseKey, callbackGasLimit, deadline);
    }

    /// @notice Withdraws a request of this contract whose deadline has passed without a result.
    /// @dev The arguments must be those of the original request (they are checked against the
    /// gateway's commitment).
    function _cancelConfidential(bytes32 requestId, bytes32 contractId, uint32 callbackGasLimit, uint64 deadline)
        internal
    {
        gateway.cancel(
            IPhalaBridgeGateway.RequestRef({
                requestId: requestId,
                contractId: contractId,
                requester: address(this),
                callbackGasLimit: callbackGasLimit,
                deadline: deadline
            })
        );
    }

    /// @notice Receives a result. Called at most once per request, only by the gateway.
    /// @param requestId The id `_requestConfidential` returned.
    /// @param publicOutput The public output of the confidential contract (plain bytes; its format
    /// is the contract's own).
    /// @param sealedOutput The output sealed to the request's response key; pass it on (store or
    /// emit it) for the client that holds the key, or ignore it.
    function _onConfidentialResult(bytes32 requestId, bytes calldata publicOutput, bytes calldata sealedOutput)
        internal
        virtual;
}
