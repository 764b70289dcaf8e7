"""Precompile the RDFC fast path's document shapes shipped with vcgate (gateway/verification/rdfc_shapes.txt).

The first verification in a fresh process otherwise pays for PyLD processing the credential's contexts and for
compiling its shape (~100-300 ms for a Traceability credential). The shipped shapes are those of the bundled
example credentials (examples/credentials, benchmarks/data), with and without their evidence, with each list of
objects or strings at 1-3 entries: the unsecured document and the proof configuration of every RDFC cryptosuite.
Each is compiled and checked against PyLD exactly as at run time. The file records a digest of the pinned
contexts, PyLD and pyoxigraph, and is ignored when any of them changes: run this again then
(``python scripts/build_rdfc_shapes.py``).
"""

from __future__ import annotations

import copy
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vcgate.gateway import KeyPair, sign
from vcgate.gateway.verification import _rdfc_fast
from vcgate.gateway.verification._canonical import rdfc

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "gateway" / "verification" / "rdfc_shapes.txt"
SUITES = (("eddsa-rdfc-2022", "Ed25519"), ("ecdsa-rdfc-2019", "P-256"), ("ecdsa-rdfc-2019", "P-384"))
BY_VALUE = ("type", "@context")  # lists kept as they are in a shape (see _rdfc_fast._walk)


def _lists(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in BY_VALUE and not k.startswith("@"):
                found += _lists(v, (*path, k))
    elif isinstance(value, list):
        found.append(path)
        for i, v in enumerate(value):
            found += _lists(v, (*path, i))
    return found


def variants(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """``doc`` with each of its (first three) lists at 1, 2 and 3 entries, every combination."""
    lists = [p for p in _lists(doc) if p][:3]
    out = []
    for sizes in itertools.product((1, 2, 3), repeat=len(lists)):
        variant = copy.deepcopy(doc)
        for path, size in sorted(zip(lists, sizes, strict=True), key=lambda x: -len(x[0])):
            node: Any = variant
            for step in path:
                node = node[step]
            if node:
                node[:] = [copy.deepcopy(node[i % len(node)]) for i in range(size)]
        out.append(variant)
    return out


def main() -> None:
    sources = sorted(ROOT.joinpath("examples", "credentials").glob("*.json"))
    sources.append(ROOT / "benchmarks" / "data" / "commercial-invoice.unsigned.json")
    _rdfc_fast._PACKAGED_LOADED = True  # build from scratch, not from the file being replaced
    keys = {kt: KeyPair.generate(kt) for _, kt in SUITES}
    created = datetime(2025, 1, 1, tzinfo=UTC)
    count = 0
    for path in sources:
        doc = json.loads(path.read_text())
        doc.pop("proof", None)
        bare = {k: v for k, v in doc.items() if k != "evidence"}  # also without its (example) evidence
        for variant in variants(doc) + (variants(bare) if bare != doc else []):
            # twice each: the fast path compiles a shape the second time it meets it
            for _ in range(2):
                rdfc(variant)
            for suite, key_type in SUITES:
                key = keys[key_type]
                variant["issuer"] = key.controller if isinstance(variant.get("issuer"), str) else variant["issuer"]
                try:
                    for _ in range(2):
                        sign(variant, key, suite=suite, created=created, allow_undefined_terms=True)
                except Exception as exc:  # an example that cannot be signed as is: its document shape still counts
                    print(f"{path.name}: {suite}: {exc}")
            count += 1
    OUT.write_text(_rdfc_fast.dump_shapes(), encoding="utf-8")
    stats = _rdfc_fast.fast_stats()
    print(f"{count} documents; {stats.compiled} shapes compiled, {stats.refused_shapes} refused -> {OUT}")


if __name__ == "__main__":
    main()
