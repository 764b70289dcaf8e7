// Compiles one Solidity file with the npm solc pinned in tests/node (run with NODE_PATH=tests/node/node_modules)
// and prints {solcVersion, abi, bytecode, deployedBytecode} of the named contract as JSON.
// Usage: node compile.cjs <source.sol> <ContractName> '<settings JSON: evmVersion, optimizer, metadata>'
// The settings must match the "compiler" member of the committed artifact (tests/ethereum_adapter/test_contract.py).
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const [sourcePath, contractName, settingsJson] = process.argv.slice(2);
const fileName = path.basename(sourcePath);
const input = {
  language: "Solidity",
  sources: { [fileName]: { content: fs.readFileSync(sourcePath, "utf8") } },
  settings: {
    ...JSON.parse(settingsJson),
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  console.error(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
const contract = output.contracts[fileName][contractName];
process.stdout.write(
  JSON.stringify({
    solcVersion: solc.version(),
    abi: contract.abi,
    bytecode: "0x" + contract.evm.bytecode.object,
    deployedBytecode: "0x" + contract.evm.deployedBytecode.object,
  }),
);
