"""The operator and partner steps of ingestion from the command line, no Python: `vcgate parties bind` (challenge,
then EIP-191 / JWS / Fabric MSP signatures checked before the binding is stored) and `vcgate mappings
list|show|publish`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from eth_account import Account
from eth_account.messages import encode_defunct
from typer.testing import CliRunner

from vcgate.canonical_schema import b64url
from vcgate.gateway import KeyPair
from vcgate.gateway._store import Store
from vcgate.gateway.cli import app

ROOT = Path(__file__).parents[2]
runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A store holding one party, Acme (a did:key)."""
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    party = tmp_path / "acme.yaml"
    party.write_text(yaml.safe_dump({"id": "acme", "did": ACME.controller, "names": ["Acme Outdoor Apparel"]}))
    added = runner.invoke(app, ["parties", "add", str(party), "--db", url, "--offline"])
    assert added.exit_code == 0, added.output
    return url


ACME = KeyPair.generate()


def challenge(db: str, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["parties", "bind", ACME.controller, *args, "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def bind(db: str, started: dict[str, Any], *args: str, signature: str) -> Any:
    binding = started["binding"]
    return runner.invoke(
        app,
        [
            "parties",
            "bind",
            ACME.controller,
            *args,
            "--valid-from",
            binding["validFrom"],
            "--nonce",
            binding["proof"]["nonce"],
            "--signature",
            signature,
            "--db",
            db,
            "--json",
        ],
    )


def bindings(db: str) -> list[dict[str, Any]]:
    store = Store.open(db)
    try:
        party = store.parties().get("acme")
        assert party is not None
        return [b.to_json() for b in party.bindings]
    finally:
        store.close()


def test_bind_an_ethereum_account_with_an_eip191_signature(db: str) -> None:
    account = Account.create()
    args = ("--ledger-id", "eip155:31337", "--identity", account.address)
    started = challenge(db, *args)
    assert started["challenge"].startswith("vcgate party binding proof v1\nparty: " + ACME.controller)
    assert bindings(db) == []  # printing the challenge binds nothing
    stranger = Account.create().sign_message(encode_defunct(text=started["challenge"])).signature.hex()
    refused = bind(db, started, *args, signature="0x" + stranger.removeprefix("0x"))
    assert refused.exit_code == 1
    assert "BINDING_SIGNATURE_INVALID" in refused.output
    signed = account.sign_message(encode_defunct(text=started["challenge"])).signature.hex()
    done = bind(db, started, *args, signature="0x" + signed.removeprefix("0x"))
    assert done.exit_code == 0, done.output
    (stored,) = bindings(db)
    assert (stored["kind"], stored["match"]) == ("ethereum-address", {"address": account.address.lower()})


def test_bind_a_plain_ledger_key_with_a_compact_jws(db: str) -> None:
    submitter = KeyPair.generate()
    key = submitter.public.to_multibase()
    args = ("--ledger-id", "plain:abc123", "--identity", key)
    started = challenge(db, *args)
    header = b64url(json.dumps({"alg": "EdDSA"}).encode())
    payload = b64url(started["challenge"].encode())
    jws = f"{header}.{payload}.{b64url(submitter.sign(f'{header}.{payload}'.encode()))}"
    other = b64url(b"a different challenge")
    forged = f"{header}.{other}.{b64url(submitter.sign(f'{header}.{other}'.encode()))}"
    refused = bind(db, started, *args, signature=forged)
    assert refused.exit_code == 1
    assert "JWS payload is not" in refused.output
    done = bind(db, started, *args, signature=jws)
    assert done.exit_code == 0, done.output
    (stored,) = bindings(db)
    assert stored["match"] == {"publicKeyMultibase": key}
    assert stored["proof"]["signature"] == jws


def test_bind_a_fabric_msp_identity_with_its_certificate(db: str, tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "User1@org1.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(private, hashes.SHA256())
    )
    pem = tmp_path / "user1.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    args = ("--ledger-id", "fabric:0123456789abcdef", "--identity", "Org1MSP", "--certificate", str(pem))
    started = challenge(db, *args)
    der = private.sign(started["challenge"].encode(), ec.ECDSA(hashes.SHA256()))
    done = bind(db, started, *args, signature="0x" + der.hex())
    assert done.exit_code == 0, done.output
    (stored,) = bindings(db)
    assert stored["kind"] == "fabric-msp"
    assert stored["match"]["mspId"] == "Org1MSP"
    digest = hashes.Hash(hashes.SHA256())
    digest.update(cert.public_bytes(serialization.Encoding.DER))
    assert stored["match"]["certificateFingerprint"] == digest.finalize().hex()


def test_bind_refuses_an_unknown_party_and_a_malformed_identity(db: str) -> None:
    unknown = runner.invoke(
        app,
        [
            "parties",
            "bind",
            "did:web:nobody.example",
            "--ledger-id",
            "eip155:1",
            "--identity",
            "0x" + "11" * 20,
            "--db",
            db,
        ],
    )
    assert unknown.exit_code == 1
    assert "no registered party" in unknown.output
    bad = runner.invoke(
        app, ["parties", "bind", ACME.controller, "--ledger-id", "eip155:1", "--identity", "0x12", "--db", db]
    )
    assert bad.exit_code == 64
    assert "account address" in bad.output


def test_mappings_publish_list_show(db: str, tmp_path: Path) -> None:
    source = ROOT / "adapters/plain_ledger/mappings/gs1-identification-key-license.yaml"
    published = runner.invoke(app, ["mappings", "publish", str(source), "--db", db, "--json"])
    assert published.exit_code == 0, published.output
    info = json.loads(published.output)
    assert info["added"] is True
    assert info["digest"].startswith("sha256:")
    again = runner.invoke(app, ["mappings", "publish", str(source), "--db", db, "--json"])
    assert json.loads(again.output)["added"] is False
    listed = json.loads(runner.invoke(app, ["mappings", "list", "--db", db, "--json"]).output)
    assert [(m["id"], m["digest"]) for m in listed] == [(info["id"], info["digest"])]
    shown = runner.invoke(app, ["mappings", "show", info["id"], "--db", db, "--json"])
    assert shown.exit_code == 0
    (doc,) = json.loads(shown.output)
    assert doc["document"] == yaml.safe_load(source.read_text(encoding="utf-8"))
    missing = runner.invoke(app, ["mappings", "show", "https://example.org/none", "--db", db])
    assert missing.exit_code == 1
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\nversion: 1\n")
    refused = runner.invoke(app, ["mappings", "publish", str(broken), "--db", db])
    assert refused.exit_code == 1
