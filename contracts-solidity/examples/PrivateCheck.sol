// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {ConfidentialConsumer} from "../ConfidentialConsumer.sol";
import {IPhalaBridgeGateway} from "../interfaces/IPhalaBridgeGateway.sol";

/// @title PrivateCheck
/// @notice Proves a private fact about an account without publishing it: the account seals its
/// data (a credit report, a birth date, a balance elsewhere...) to a confidential contract that
/// applies a rule; only "passed" or "failed" becomes public, and a detailed answer comes back
/// sealed to the account's own key. Copy it and change the rule in the confidential contract.
/// @dev Public output, ABI-encoded by the confidential contract: `abi.encode(bool passed)`.
/// Anything else counts as "failed". The sealed detail is emitted in `CheckAnswered` for the
/// holder of the response key.
///
/// The account seals its data for this contract as requester and itself as end user: the gateway
/// records the caller of `check` as the request's end user, and the worker opens the input only
/// for that end user. An input copied from Alice's `check` transaction and sent by Bob does not
/// open, so Bob cannot pass on Alice's data.
contract PrivateCheck is ConfidentialConsumer {
    struct PendingCheck {
        address account;
        uint64 deadline;
    }

    /// @notice Gas the gateway gives `_onConfidentialResult` (measured about 32k, with a margin).
    uint32 public constant CALLBACK_GAS = 80_000;

    bytes32 public immutable contractId;
    /// @notice How long a check may wait for its answer before it can be cancelled.
    uint64 public immutable answerWindow;

    mapping(bytes32 requestId => PendingCheck) public pending;
    /// @notice When each account last passed the check (0: never).
    mapping(address account => uint64) public passedAt;

    event CheckRequested(bytes32 indexed requestId, address indexed account);
    event CheckAnswered(bytes32 indexed requestId, address indexed account, bool passed, bytes sealedDetail);
    event CheckCancelled(bytes32 indexed requestId, address indexed account);

    error NotCancellable(bytes32 requestId);

    constructor(IPhalaBridgeGateway gateway_, bytes32 contractId_, uint64 answerWindow_) ConfidentialConsumer(gateway_) {
        contractId = contractId_;
        answerWindow = answerWindow_;
    }

    /// @notice Asks for a check of the caller's sealed data.
    /// @param sealedInput The data, sealed to the confidential contract's key for this contract
    /// (requester) and the caller (end user).
    /// @param responseKey X25519 key that receives the sealed detail.
    function check(bytes calldata sealedInput, bytes32 responseKey) external returns (bytes32 requestId) {
        uint64 deadline = uint64(block.timestamp) + answerWindow;
        requestId = _requestConfidential(contractId, sealedInput, responseKey, CALLBACK_GAS, deadline);
        pending[requestId] = PendingCheck({account: msg.sender, deadline: deadline});
        emit CheckRequested(requestId, msg.sender);
    }

    /// @notice Withdraws an unanswered check after its deadline; only the account that asked may.
    function cancel(bytes32 requestId) external {
        PendingCheck memory p = pending[requestId];
        if (p.account != msg.sender || block.timestamp <= p.deadline) revert NotCancellable(requestId);
        delete pending[requestId];
        _cancelConfidential(requestId, contractId, CALLBACK_GAS, p.deadline);
        emit CheckCancelled(requestId, msg.sender);
    }

    /// @notice Whether `account` passed the check at or after `notBefore`.
    function hasPassed(address account, uint64 notBefore) external view returns (bool) {
        uint64 at = passedAt[account];
        return at != 0 && at >= notBefore;
    }

    function _onConfidentialResult(bytes32 requestId, bytes calldata publicOutput, bytes calldata sealedOutput)
        internal
        override
    {
        address account = pending[requestId].account;
        if (account == address(0)) return;
        delete pending[requestId];
        bool passed = publicOutput.length == 32 && uint256(bytes32(publicOutput)) == 1;
        if (passed) passedAt[account] = uint64(block.timestamp);
        emit CheckAnswered(requestId, account, passed, sealedOutput);
    }
}
