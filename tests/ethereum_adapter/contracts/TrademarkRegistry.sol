// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// A test contract for the Ethereum adapter's generic contract-event source: a brand owner records its trademarks.
contract TrademarkRegistry {
    event TrademarkRecorded(address indexed owner, string recordationNumber, string mark, string[] gtins);

    function record(string calldata recordationNumber, string calldata mark, string[] calldata gtins) external {
        emit TrademarkRecorded(msg.sender, recordationNumber, mark, gtins);
    }
}
