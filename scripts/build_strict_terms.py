"""Precompile the strict-terms answers shipped with vcgate (gateway/verification/strict_terms.txt).

The strict-terms check of eddsa-jcs-2022, ecdsa-jcs-2019 and VC-JOSE credentials runs PyLD once per document
shape; in a fresh process that first run processes the credential's contexts (~60 ms for the Traceability
context). This script runs it at build time for the shapes of the bundled example credentials (examples/credentials,
benchmarks/data; each of their first three lists at 1-3 entries, with and without their evidence; unsigned, and
signed with eddsa-jcs-2022 and ecdsa-jcs-2019 P-256/P-384) and writes PyLD's answers. The file records a digest of
the pinned contexts and PyLD and is ignored when either changes: run this again then
(``python scripts/build_strict_terms.py``).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vcgate.gateway import KeyPair, sign
from vcgate.gateway.verification import _strict_terms
from vcgate.gateway.verification._canonical import undefined_terms

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "gateway" / "verification" / "strict_terms.txt"
SUITES = (("eddsa-jcs-2022", "Ed25519"), ("ecdsa-jcs-2019", "P-256"), ("ecdsa-jcs-2019", "P-384"))
sys.path.insert(0, str(ROOT / "scripts"))
from build_rdfc_shapes import variants  # noqa: E402  (the same document variants as the RDFC shapes)


def documents() -> list[dict[str, Any]]:
    """Every document whose strict-terms answer is shipped: the variants, unsigned and signed with each JCS suite."""
    sources = sorted(ROOT.joinpath("examples", "credentials").glob("*.json"))
    sources.append(ROOT / "benchmarks" / "data" / "commercial-invoice.unsigned.json")
    keys = {kt: KeyPair.generate(kt) for _, kt in SUITES}
    created = datetime(2025, 1, 1, tzinfo=UTC)
    out: list[dict[str, Any]] = []
    for path in sources:
        doc = json.loads(path.read_text())
        doc.pop("proof", None)
        bare = {k: v for k, v in doc.items() if k != "evidence"}
        for variant in variants(doc) + (variants(bare) if bare != doc else []):
            out.append(variant)
            for suite, key_type in SUITES:
                key = keys[key_type]
                signed_input = dict(variant)
                if isinstance(variant.get("issuer"), str):
                    signed_input["issuer"] = key.controller
                try:
                    out.append(sign(signed_input, key, suite=suite, created=created, allow_undefined_terms=True))
                except Exception as exc:  # an example that cannot be signed as is: its unsigned shape still counts
                    print(f"{path.name}: {suite}: {exc}")
    return out


def main() -> None:
    _strict_terms._LOADED = True  # build from PyLD, not from the file being replaced
    docs = documents()
    for doc in docs:
        undefined_terms(doc)
    text = _strict_terms.dump_term_shapes()
    OUT.write_text(text, encoding="utf-8")
    print(f"{len(docs)} documents; {text.count(chr(10)) - 1} shapes -> {OUT}")


if __name__ == "__main__":
    main()
