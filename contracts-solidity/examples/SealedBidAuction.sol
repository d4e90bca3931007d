// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {ConfidentialConsumer} from "../ConfidentialConsumer.sol";
import {IPhalaBridgeGateway} from "../interfaces/IPhalaBridgeGateway.sol";

/// @title SealedBidAuction
/// @notice A sealed-bid auction whose bids only a confidential contract ever reads. Copy it and
/// make the sale do what you sell (transfer an NFT in `_onSettled`, for instance).
/// @dev One auction per deployment. The confidential contract keeps the bids in its encrypted
/// state across requests and, when asked to settle, names the winning bid and the price
/// (second-highest bid, or the highest when there is one bid: a Vickrey auction).
///
/// Inputs, sealed by the client to the confidential contract's key (see docs/evm.md):
///   bid:    abi.encode(uint8(1), uint256 amount)      settle: abi.encode(uint8(2))
/// Public outputs, ABI-encoded by the confidential contract:
///   bid:    abi.encode(uint8(1), bool accepted)
///   settle: abi.encode(uint8(2), bytes32 winningBid, uint256 price)  (winningBid = the winning
///           bid's request id, zero when there was no valid bid)
/// The confidential contract must accept requests for this auction only from this contract's
/// address (the gateway's `requester`), so nobody can settle it early through the gateway.
/// Each bid is sealed for this contract (requester) and the bidder (end user: the gateway records
/// the caller of `bid`); the worker opens it only for that bidder, so a shill cannot place a copy
/// of someone else's sealed bid.
///
/// Every bid locks a public deposit. A winner whose price exceeds its deposit defaults: its deposit
/// goes to the seller and nothing is sold. If the auction is not settled by `settleBy`, anyone may
/// abort it and every deposit can be withdrawn.
contract SealedBidAuction is ConfidentialConsumer {
    enum Phase {
        Bidding,
        Settling,
        Settled,
        Aborted
    }

    struct Bid {
        address bidder;
        uint128 deposit;
        uint64 deadline;
        bool answered;
        bool accepted;
    }

    /// @notice Gas the gateway gives `_onConfidentialResult`: a bid answer measured about 19k, the
    /// settlement about 83k (it writes four fresh slots); with a margin.
    uint32 public constant CALLBACK_GAS = 150_000;
    uint8 internal constant KIND_BID = 1;
    uint8 internal constant KIND_SETTLE = 2;

    bytes32 public immutable contractId;
    address public immutable seller;
    uint64 public immutable biddingEnds;
    /// @notice Bids must be answered by this time (else they can be cancelled and refunded).
    uint64 public immutable answerBy;
    /// @notice The auction must be settled by this time (else anyone may abort it).
    uint64 public immutable settleBy;

    Phase public phase;
    uint256 public pendingBids;
    bytes32 public settleRequest;
    bytes32 public winningBid;
    uint256 public price;
    uint256 public proceeds;
    mapping(bytes32 requestId => Bid) public bids;
    mapping(address bidder => bytes32 requestId) public bidOf;

    event BidPlaced(bytes32 indexed requestId, address indexed bidder, uint256 deposit);
    /// @notice The confidential contract answered a bid; `sealedReceipt` is for the bidder.
    event BidAnswered(bytes32 indexed requestId, address indexed bidder, bool accepted, bytes sealedReceipt);
    event BidCancelled(bytes32 indexed requestId, address indexed bidder);
    event SettlementRequested(bytes32 indexed requestId);
    /// @notice `winner` is zero when nothing was sold; `sealedReport` is for the settle requester.
    event Settled(bytes32 indexed winningBid, address indexed winner, uint256 price, bytes sealedReport);
    event Aborted();
    event Withdrawn(address indexed account, uint256 amount);

    error WrongPhase(Phase phase);
    error BiddingClosed();
    error BiddingOpen();
    error AlreadyBid(bytes32 requestId);
    error NoDeposit();
    error BidsPending(uint256 count);
    error NotCancellable(bytes32 requestId);
    error SellerCannotBid();
    error TooEarly();
    error NothingToWithdraw();
    error TransferFailed();

    constructor(
        IPhalaBridgeGateway gateway_,
        bytes32 contractId_,
        uint64 biddingEnds_,
        uint64 answerWindow,
        uint64 settleWindow
    ) ConfidentialConsumer(gateway_) {
        contractId = contractId_;
        seller = msg.sender;
        biddingEnds = biddingEnds_;
        answerBy = biddingEnds_ + answerWindow;
        settleBy = answerBy + settleWindow;
    }

    /// @notice Places a bid: `sealedBid` is the bid amount sealed to the confidential contract's
    /// key; `msg.value` is a public deposit that should cover the amount.
    /// @param responseKey X25519 key that receives the sealed receipt.
    function bid(bytes calldata sealedBid, bytes32 responseKey) external payable returns (bytes32 requestId) {
        if (phase != Phase.Bidding) revert WrongPhase(phase);
        if (block.timestamp >= biddingEnds) revert BiddingClosed();
        if (msg.sender == seller) revert SellerCannotBid();
        if (msg.value == 0) revert NoDeposit();
        if (bidOf[msg.sender] != 0) revert AlreadyBid(bidOf[msg.sender]);
        requestId = _requestConfidential(contractId, sealedBid, responseKey, CALLBACK_GAS, answerBy);
        bids[requestId] = Bid({
            bidder: msg.sender,
            deposit: uint128(msg.value),
            deadline: answerBy,
            answered: false,
            accepted: false
        });
        bidOf[msg.sender] = requestId;
        ++pendingBids;
        emit BidPlaced(requestId, msg.sender, msg.value);
    }

    /// @notice Withdraws a bid that got no answer by `answerBy`; its deposit becomes withdrawable.
    function cancelBid(bytes32 requestId) external {
        Bid storage b = bids[requestId];
        if (b.bidder == address(0) || b.answered || block.timestamp <= b.deadline) revert NotCancellable(requestId);
        _cancelConfidential(requestId, contractId, CALLBACK_GAS, b.deadline);
        b.answered = true;
        --pendingBids;
        emit BidCancelled(requestId, b.bidder);
    }

    /// @notice Asks the confidential contract for the result, once bidding is over and every bid
    /// was answered or cancelled. Anyone may call it.
    /// @param sealedSettle `abi.encode(uint8(2))` sealed to the confidential contract's key.
    /// @param responseKey X25519 key that receives the sealed report.
    function settle(bytes calldata sealedSettle, bytes32 responseKey) external returns (bytes32 requestId) {
        if (phase != Phase.Bidding) revert WrongPhase(phase);
        if (block.timestamp < biddingEnds) revert BiddingOpen();
        if (pendingBids != 0) revert BidsPending(pendingBids);
        requestId = _requestConfidential(contractId, sealedSettle, responseKey, CALLBACK_GAS, settleBy);
        settleRequest = requestId;
        phase = Phase.Settling;
        emit SettlementRequested(requestId);
    }

    /// @notice Ends an auction that was not settled in time; every deposit becomes withdrawable.
    function abort() external {
        if (phase == Phase.Settled || phase == Phase.Aborted) revert WrongPhase(phase);
        if (block.timestamp <= settleBy) revert TooEarly();
        phase = Phase.Aborted;
        emit Aborted();
    }

    /// @notice Pays out what the caller is owed: the seller's proceeds, or a bidder's deposit
    /// (less the price for the winner).
    function withdraw() external {
        uint256 amount;
        if (msg.sender == seller && phase == Phase.Settled) {
            amount = proceeds;
            proceeds = 0;
        }
        bytes32 requestId = bidOf[msg.sender];
        Bid storage b = bids[requestId];
        if (b.deposit != 0 && _refundable(b)) {
            amount += requestId == winningBid ? b.deposit - price : b.deposit;
            b.deposit = 0;
        }
        if (amount == 0) revert NothingToWithdraw();
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    function _refundable(Bid storage b) private view returns (bool) {
        if (phase == Phase.Settled || phase == Phase.Aborted) return true;
        // Rejected or cancelled bids are out of the auction already.
        return b.answered && !b.accepted;
    }

    function _onConfidentialResult(bytes32 requestId, bytes calldata publicOutput, bytes calldata sealedOutput)
        internal
        override
    {
        if (requestId == settleRequest) {
            _onSettleAnswer(publicOutput, sealedOutput);
            return;
        }
        Bid storage b = bids[requestId];
        if (b.bidder == address(0) || b.answered) return;
        b.answered = true;
        --pendingBids;
        // Malformed output counts as a rejection: a callback that reverted would leave the bid
        // pending for ever.
        bool accepted = publicOutput.length == 64 && uint256(bytes32(publicOutput[0:32])) == KIND_BID
            && uint256(bytes32(publicOutput[32:64])) == 1;
        b.accepted = accepted;
        emit BidAnswered(requestId, b.bidder, accepted, sealedOutput);
    }

    function _onSettleAnswer(bytes calldata publicOutput, bytes calldata sealedOutput) private {
        if (phase != Phase.Settling) return;
        phase = Phase.Settled;
        bytes32 winner;
        uint256 winningPrice;
        if (publicOutput.length == 96 && uint256(bytes32(publicOutput[0:32])) == KIND_SETTLE) {
            winner = bytes32(publicOutput[32:64]);
            winningPrice = uint256(bytes32(publicOutput[64:96]));
        }
        Bid storage w = bids[winner];
        if (winner == 0 || !w.accepted) {
            emit Settled(0, address(0), 0, sealedOutput);
            return;
        }
        if (winningPrice > w.deposit) {
            // The winner bid more than it deposited: its deposit is forfeit, nothing is sold.
            proceeds = w.deposit;
            w.deposit = 0;
            emit Settled(0, address(0), 0, sealedOutput);
            return;
        }
        winningBid = winner;
        price = winningPrice;
        proceeds = winningPrice;
        _onSettled(w.bidder, winningPrice);
        emit Settled(winner, w.bidder, winningPrice, sealedOutput);
    }

    /// @notice Hook for what the sale does (transfer the item to `winner`). Keep it bounded: it runs
    /// inside the callback's gas.
    function _onSettled(address winner, uint256 salePrice) internal virtual {}
}
