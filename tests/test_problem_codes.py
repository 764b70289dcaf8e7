"""Every problem code the gateway's verification emits is documented in docs/problem-codes.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "gateway" / "verification"
MODULES = ["_proofs.py", "_verify.py", "_canonical.py", "_status.py", "_jose.py", "_dids.py"]
NOT_CODES = {"JWT_REGISTERED_CLAIMS", "ENVELOPED_VP_MEDIA_TYPES"}


def test_gateway_codes_are_documented() -> None:
    doc = (ROOT / "docs" / "problem-codes.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`", doc))
    used: set[str] = set()
    for name in MODULES:
        used |= set(re.findall(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"', (CORE / name).read_text()))
    missing = sorted(used - documented - NOT_CODES)
    assert not missing, f"document these codes in docs/problem-codes.md: {missing}"
