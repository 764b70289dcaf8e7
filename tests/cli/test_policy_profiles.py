"""`vcgate verify --policy NAME`: shipped policies by name (the w3c-interop conformance profile), files by path."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from vcgate.gateway import KeyPair, sign

V2 = "https://www.w3.org/ns/credentials/v2"


def vcgate(*args: str) -> subprocess.CompletedProcess[bytes]:
    code = "from vcgate.gateway.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, timeout=60)


def test_w3c_interop_profile_by_name(tmp_path: Path) -> None:
    # a credential whose issuer does not control the signing key, as in the specifications' test vectors
    doc = {
        "@context": [V2, {"@vocab": "https://vocab.vcgate.test#"}],
        "type": ["VerifiableCredential"],
        "issuer": "https://issuers.vcgate.test/5678",
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:web:broker.vcgate.test", "licenceNumber": "B-7"},
    }
    path = tmp_path / "vc.json"
    path.write_text(json.dumps(sign(doc, KeyPair.generate(), created=datetime(2026, 1, 2, tzinfo=UTC))))
    at = "2026-02-01T00:00:00Z"
    default = vcgate("verify", str(path), "--at", at, "--json")
    assert default.returncode == 1, default.stderr
    assert "ISSUER_KEY_MISMATCH" in default.stdout.decode()
    profile = vcgate("verify", str(path), "--policy", "w3c-interop", "--at", at, "--json")
    assert profile.returncode == 0, profile.stdout.decode() + profile.stderr.decode()
    result = json.loads(profile.stdout)
    assert result["verified"] is True
    missing = vcgate("verify", str(path), "--policy", "no-such-policy", "--at", at)
    assert missing.returncode != 0
    assert b"no-such-policy" in missing.stderr + missing.stdout
