// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ConfidentialConsumer} from "../ConfidentialConsumer.sol";
import {IPhalaBridgeGateway} from "../interfaces/IPhalaBridgeGateway.sol";

/// @notice Test-only consumer whose callback misbehaves on demand (tests and the gas benchmark).
contract TestConsumer is ConfidentialConsumer {
    enum Mode {
        Store,
        Noop,
        Revert,
        Loop,
        ReturnBomb,
        RevertBomb,
        Reenter
    }

    Mode public mode;
    uint256 public received;
    bytes32 public lastRequestId;
    bytes32 public lastOutputsHash;
    uint256 public gasAtEntry;
    bool public reentryFailed;

    constructor(IPhalaBridgeGateway gateway_) ConfidentialConsumer(gateway_) {}

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function send(
        bytes32 contractId,
        bytes calldata sealedInput,
        bytes32 responseKey,
        uint32 callbackGasLimit,
        uint64 deadline
    ) external returns (bytes32) {
        return _requestConfidential(contractId, sealedInput, responseKey, callbackGasLimit, deadline);
    }

    function cancel(bytes32 requestId, bytes32 contractId, uint32 callbackGasLimit, uint64 deadline) external {
        _cancelConfidential(requestId, contractId, callbackGasLimit, deadline);
    }

    function _onConfidentialResult(bytes32 requestId, bytes calldata publicOutput, bytes calldata sealedOutput)
        internal
        override
    {
        uint256 g = gasleft();
        Mode m = mode;
        if (m == Mode.Noop) return;
        if (m == Mode.Revert) revert("consumer says no");
        if (m == Mode.Loop) {
            while (true) {}
        }
        if (m == Mode.ReturnBomb) {
            assembly {
                return(0, 65536)
            }
        }
        if (m == Mode.RevertBomb) {
            assembly {
                revert(0, 65536)
            }
        }
        if (m == Mode.Reenter) {
            // A callback that tries to get its own request answered again must fail.
            try gateway.cancel(
                IPhalaBridgeGateway.RequestRef({
                    requestId: requestId,
                    contractId: bytes32(0),
                    requester: address(this),
                    callbackGasLimit: 0,
                    deadline: 0
                })
            ) {} catch {
                reentryFailed = true;
            }
        }
        gasAtEntry = g;
        received += 1;
        lastRequestId = requestId;
        lastOutputsHash = keccak256(abi.encode(publicOutput, sealedOutput));
    }
}
