"""Compile the Solidity contracts with the pinned npm solc into committed artifacts (ABI + bytecode).

    python -m tests.ethereum_adapter.compile_contracts          # rewrite the artifacts
The test ``test_contract.py`` runs the same compilation and asserts the committed bytecode is reproduced.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "ethereum_adapter" / "compile.cjs"
NODE_MODULES = ROOT / "tests" / "node" / "node_modules"
# evmVersion set explicitly: solc's default is its newest fork, which would change the bytecode between releases.
SETTINGS: dict[str, Any] = {"evmVersion": "cancun", "optimizer": {"enabled": True, "runs": 200}}
CONTRACTS = {
    "AnchorRegistry": ROOT / "adapters" / "ethereum" / "contracts" / "AnchorRegistry.sol",
    "TrademarkRegistry": ROOT / "tests" / "ethereum_adapter" / "contracts" / "TrademarkRegistry.sol",
}


def compile_contract(source: Path, name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Run solcjs (npm ``solc``) on ``source`` and return the contract's ABI and bytecode."""
    out = subprocess.run(
        ["node", str(SCRIPT), str(source), name, json.dumps(settings)],
        capture_output=True,
        check=True,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        timeout=120,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def artifact(source: Path, name: str) -> dict[str, Any]:
    """The artifact document committed next to the source."""
    compiled = compile_contract(source, name, SETTINGS)
    return {
        "contractName": name,
        "sourceName": source.name,
        "sourceSha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "compiler": {"name": "solc (npm solc / solcjs)", "version": compiled["solcVersion"], "settings": SETTINGS},
        "abi": compiled["abi"],
        "bytecode": compiled["bytecode"],
        "deployedBytecode": compiled["deployedBytecode"],
    }


def main() -> None:
    for name, source in CONTRACTS.items():
        target = source.with_suffix(".json")
        target.write_text(json.dumps(artifact(source, name), indent=2) + "\n")
        print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
