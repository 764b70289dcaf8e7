"""EAS ``expirationTime`` and ``eas.attesters`` on attestations made by the OFFICIAL EAS SDK (issue 11).

The attestations are written by ``eas_sdk_attest.cjs`` (npm @ethereum-attestation-service/eas-sdk 2.10.0 + ethers 6)
against anvil running the official EAS bytecode: on-chain ones that are expired at ingest, that expire after the
licence term, and that expire before it; off-chain ones signed by the SDK, expired and in force; and one by an
attester the configuration does not list. Before issue 11 an attestation that had expired became a credential valid
until the licence's termEnd, the evidence checker passed it, and ``eas.attesters`` filtered nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ethereum.conftest import DEV_KEYS, AnvilNode, Deployment, deploy_all, isolated

from vcgate.adapters.ethereum import IP_LICENCE_SCHEMA, EthereumAdapter, builtin_mapping, schema_uid
from vcgate.adapters.sdk import SourceRecord, TranslationError, apply_mapping

from .conftest import CHAIN_ID, HERE, ROOT, TERM_END, licence

pytestmark = [pytest.mark.server, pytest.mark.node]

NODE_MODULES = ROOT / "tests" / "node" / "node_modules"
BRAND_DID = "did:web:acme-brand.example"
OTHER_DID = "did:web:someone-else.example"
LICENSEE = "did:web:summit-garment.example"
DAY = 86_400


def sdk(request: dict[str, Any]) -> dict[str, Any]:
    """Run the EAS SDK script; its JSON result."""
    if not (NODE_MODULES / "@ethereum-attestation-service" / "eas-sdk").is_dir():
        pytest.fail(f"{NODE_MODULES} lacks the EAS SDK: run scripts/install-test-deps.sh")
    done = subprocess.run(
        ["node", str(HERE / "eas_sdk_attest.cjs"), json.dumps(request)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


class Chain:
    """The node, the SDK's attestations and the instant the adapter ingests at."""

    def __init__(self, d: Deployment, folder: Path) -> None:
        self.d = d
        self.folder = folder
        schema = d.register_schema(IP_LICENCE_SCHEMA)
        assert schema == schema_uid(IP_LICENCE_SCHEMA)
        now = int(d.w3.eth.get_block("latest")["timestamp"])
        self.ingest_at = datetime.fromtimestamp(now + 2 * 3600, UTC)
        base = {
            "rpcUrl": d.node.url,
            "easAddress": d.eas.address,
            "schema": IP_LICENCE_SCHEMA,
            "schemaUid": "0x" + schema.hex(),
            "recipient": d.manufacturer,
        }
        self.expiry = {
            "expired": now + 3600,  # in force when attested, expired at ingest
            "after_term": TERM_END + 365 * DAY,  # outlives the licence term
            "before_term": now + 30 * DAY,  # in force at ingest, ends before the licence term
        }
        made = sdk(
            {
                **base,
                "attesterKey": DEV_KEYS[0],
                "onchain": [{"values": licence(n, LICENSEE), "expirationTime": e} for n, e in self._numbered()],
                "offchain": [
                    {"values": licence(11, LICENSEE), "expirationTime": now - DAY, "time": now - 2 * DAY},
                    {"values": licence(12, LICENSEE), "expirationTime": TERM_END + DAY, "time": now - DAY},
                    {"values": licence(13, LICENSEE), "expirationTime": now + 30 * DAY, "time": now - DAY},
                ],
            }
        )
        assert made["attester"] == d.brand_owner
        self.onchain = dict(zip(self.expiry, made["onchain"], strict=True))
        (folder / "offchain").mkdir()
        self.offchain_uids = []
        for i, document in enumerate(made["offchain"]):
            (folder / "offchain" / f"sdk-{i}.json").write_text(json.dumps(document))
            self.offchain_uids.append(document["sig"]["uid"])
        other = sdk(
            {**base, "attesterKey": DEV_KEYS[2], "onchain": [{"values": licence(20, LICENSEE), "expirationTime": 0}]}
        )
        assert other["attester"] == d.other
        self.other_uid = other["onchain"][0]
        d.node.rpc("anvil_mine", ["0x4"])
        self.head = d.w3.eth.block_number

    def _numbered(self) -> list[tuple[int, int]]:
        return [(n, e) for n, e in enumerate(self.expiry.values(), start=1)]

    def adapter(self, at: datetime | None = None, **eas: Any) -> EthereumAdapter:
        config = {
            "id": "sdk-licences",
            "chainId": CHAIN_ID,
            "rpcUrl": self.d.node.url,
            "configDir": str(self.folder),
            "finality": {"confirmations": 2},
            "descendants": 2,
            "signers": {self.d.brand_owner: BRAND_DID, self.d.other: OTHER_DID},
            "eas": {"address": self.d.eas.address, "schemas": [{"profile": "ip-licence"}], **eas},
            "offchain": ["offchain"],
            "rpc": {"retries": 0, "timeout": 5},
        }
        return EthereumAdapter.from_config(config, clock=lambda: at or self.ingest_at)

    def anchor(self) -> dict[str, Any]:
        blocks = {n: "0x" + bytes(self.d.w3.eth.get_block(n)["hash"]).hex() for n in range(self.head + 1)}
        return {"kind": "ethereum", "checkpoints": blocks, "finalityDepth": 2}


@pytest.fixture(scope="module")
def chain(anvil_server: AnvilNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with isolated(anvil_server) as node:
        yield Chain(deploy_all(node), tmp_path_factory.mktemp("eas-sdk"))


@pytest.fixture(scope="module")
def records(chain: Chain) -> dict[str, SourceRecord]:
    adapter = chain.adapter(attesters=[chain.d.brand_owner])
    return {r.locator: r for page in adapter.records() for r in page.records}


def _check(chain: Chain, credential: dict[str, Any]) -> Any:
    checker = EthereumAdapter.offline_evidence_checker()
    return checker.check(credential, credential["evidence"][0], chain.anchor(), at=chain.ingest_at)


def _translation_error(adapter: EthereumAdapter, record: SourceRecord) -> TranslationError:
    with pytest.raises(TranslationError) as caught:
        adapter.translate(record)
    return caught.value


def test_an_attestation_expired_at_ingest_is_reported_not_signed(
    chain: Chain, records: dict[str, SourceRecord]
) -> None:
    adapter = chain.adapter(attesters=[chain.d.brand_owner])
    for locator in (f"eas/{chain.onchain['expired']}", f"eas-offchain/{chain.offchain_uids[0]}"):
        error = _translation_error(adapter, records[locator])
        assert error.code == "ETHEREUM_ATTESTATION_EXPIRED"
        assert locator in str(error)
        assert "expired at" in str(error)


def test_expiration_after_the_term_leaves_the_term(chain: Chain, records: dict[str, SourceRecord]) -> None:
    adapter = chain.adapter(attesters=[chain.d.brand_owner])
    for locator in (f"eas/{chain.onchain['after_term']}", f"eas-offchain/{chain.offchain_uids[1]}"):
        credential = adapter.translate(records[locator]).to_json()
        assert credential["validUntil"] == "2028-01-01T00:00:00Z"  # the licence's termEnd, before the expiry
        result = _check(chain, credential)
        assert result.status == "verified", result.to_json()
        assert result.check("ethereum.eas_expiration").status == "passed"


def _z(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unbounded(chain: Chain) -> Path:
    """The built-in mapping without its expiry bound (validUntil = termEnd alone), as a custom mapping file."""
    document = json.loads(json.dumps(dict(builtin_mapping("eas-ip-licence.yaml").document)))
    document["credential"]["validUntil"] = {"path": "fields.termEnd", "date": "unix"}
    path = chain.folder / "unbounded.json"
    path.write_text(json.dumps(document))
    return path


def test_expiration_bounds_valid_until(chain: Chain, records: dict[str, SourceRecord]) -> None:
    adapter = chain.adapter(attesters=[chain.d.brand_owner])
    for locator in (f"eas/{chain.onchain['before_term']}", f"eas-offchain/{chain.offchain_uids[2]}"):
        record = records[locator]
        expires = record.content_field("expirationTime")
        assert 0 < expires < TERM_END
        # The built-in mapping bounds validUntil: the earlier of termEnd and expirationTime.
        credential = adapter.translate(record).to_json()
        assert credential["validUntil"] == _z(expires), locator
        assert credential["credentialSubject"]["licenseTerm"]["termEnd"] == "2028-01-01T00:00:00Z"
        result = _check(chain, credential)
        assert result.status == "verified", result.to_json()
        assert result.check("ethereum.eas_expiration").status == "passed"
        # The evidence checker still refuses a validUntil beyond the expiry, by as little as a second.
        credential["validUntil"] = _z(expires + 1)
        check = _check(chain, credential).check("ethereum.eas_expiration")
        assert check.status == "failed"
        assert check.problems[0].code == "eas.validity_beyond_expiration"
        assert check.problems[0].pointer == "/validUntil"
    # expirationTime 0 is "never expires" in EAS: the other attester's attestation keeps its licence term.
    other = chain.adapter().fetch(f"eas/{chain.other_uid}")
    assert other.content_field("expirationTime") == 0
    assert chain.adapter().translate(other).to_json()["validUntil"] == "2028-01-01T00:00:00Z"


def test_a_mapping_that_does_not_bound_validity_is_refused(chain: Chain, records: dict[str, SourceRecord]) -> None:
    unbounded = _unbounded(chain)
    adapter = chain.adapter(
        attesters=[chain.d.brand_owner], schemas=[{"profile": "ip-licence", "mapping": str(unbounded)}]
    )
    mapping = adapter.mapping_for(records[f"eas/{chain.onchain['before_term']}"])
    assert mapping.digest != builtin_mapping("eas-ip-licence.yaml").digest
    for locator in (f"eas/{chain.onchain['before_term']}", f"eas-offchain/{chain.offchain_uids[2]}"):
        record = records[locator]
        # The adapter refuses: such a mapping would carry the licence term past the attestation's expirationTime.
        error = _translation_error(adapter, record)
        assert error.code == "ETHEREUM_VALIDITY_BEYOND_EXPIRATION"
        assert locator in str(error)
        # What that mapping alone makes is refused by the evidence checker.
        credential = apply_mapping(mapping, record).to_json()
        assert credential["validUntil"] == "2028-01-01T00:00:00Z"
        check = _check(chain, credential).check("ethereum.eas_expiration")
        assert check.status == "failed"
        assert check.problems[0].code == "eas.validity_beyond_expiration"
    # The case: an attestation read while in force, checked after it expired. The built-in mapping bounds
    # validUntil by the expiry (so the credential has run out by then); the unbounded one is refused.
    early = chain.adapter(chain.ingest_at - timedelta(hours=2), attesters=[chain.d.brand_owner])
    record = early.fetch(f"eas/{chain.onchain['expired']}")
    bounded = early.translate(record).to_json()
    assert bounded["validUntil"] == _z(chain.expiry["expired"])
    assert _check(chain, bounded).check("ethereum.eas_expiration").status == "passed"
    expired = apply_mapping(mapping, record).to_json()
    assert _check(chain, expired).check("ethereum.eas_expiration").problems[0].code == (
        "eas.validity_beyond_expiration"
    )


def test_eas_attesters_filter_the_logs(chain: Chain, records: dict[str, SourceRecord]) -> None:
    other = f"eas/{chain.other_uid}"
    assert other not in records
    assert {f"eas/{uid}" for uid in chain.onchain.values()} <= set(records)
    unfiltered = {r.locator for page in chain.adapter().records() for r in page.records}
    assert other in unfiltered
    # The filter is in the eth_getLogs request: the node never returns the other attester's log.
    adapter = chain.adapter(attesters=[chain.d.other])
    asked: list[Any] = []
    get_logs = adapter.client.get_logs

    def recording(query: Any) -> Any:
        asked.append(query)
        return get_logs(query)

    adapter.client.get_logs = recording  # type: ignore[method-assign]
    only_other = {r.locator for page in adapter.records() for r in page.records if r.locator.startswith("eas/")}
    assert only_other == {other}
    topic = "0x" + "00" * 12 + chain.d.other[2:].lower()
    assert all(q["topics"][2] == [topic] for q in asked)
    # Off-chain attestations by an unlisted attester are reported, not translated.
    error = _translation_error(
        adapter, next(r for r in adapter.records() for r in r.records if "offchain" in r.locator)
    )
    assert error.code == "ETHEREUM_ATTESTER_NOT_CONFIGURED"
