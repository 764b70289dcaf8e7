"""Reading a plain ledger through the adapter: resumable cursors, revocation entries, unmapped records, fetch, health
and configuration errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plain_ledger.conftest import free_port

from vcgate.adapters.plain_ledger import LogKey, PlainLedgerAdapter, PlainLedgerAdapterError, SubmitterKey
from vcgate.adapters.sdk import AdapterConfigError, Cursor, TranslationError, load_adapter
from vcgate.canonical_schema import InputError

from .conftest import Ledger, sample

pytestmark = pytest.mark.server


def _locators(adapter: PlainLedgerAdapter, since: Cursor | None = None) -> list[str]:
    return [r.locator for page in adapter.records(since) for r in page.records]


def test_cursor_resumption_skips_and_repeats_nothing(ledger: Ledger, gs1: SubmitterKey) -> None:
    start = ledger.client.checkpoint().split("\n")[1]  # the tree size before this test's entries
    before = Cursor((int(start) - 1,)) if int(start) else None
    names = ["prefix", "key", "entry", "prefix", "key", "entry", "prefix"]
    indices = [ledger.append(gs1, sample(n)) for n in names]
    expected = [f"entries/{i}" for i in indices]

    full = _locators(ledger.adapter(pageSize=2), before)
    assert full == expected

    # Stop after two pages, keep only the cursor token, resume in another adapter instance.
    pages = ledger.adapter(pageSize=2).records(before)
    first = [next(pages), next(pages)]
    assert [len(p.records) for p in first] == [2, 2]
    token = first[-1].next_cursor.encode()
    resumed = _locators(ledger.adapter(pageSize=3), Cursor.decode(token))
    seen = [r.locator for p in first for r in p.records] + resumed
    assert seen == expected
    assert len(set(seen)) == len(seen)

    # From the last cursor there is nothing new until something is appended, then exactly that.
    last = list(ledger.adapter(pageSize=2).records(before))[-1].next_cursor
    assert last == Cursor((indices[-1],))
    assert _locators(ledger.adapter(), last) == []
    later = ledger.append(gs1, sample("key"))
    assert _locators(ledger.adapter(), last) == [f"entries/{later}"]


def test_revocation_entry_revokes_the_earlier_credential(ledger: Ledger, gs1: SubmitterKey) -> None:
    by_id = ledger.append(gs1, sample("key"), record_id="gtin-00614141123452-licence")
    by_index = ledger.append(gs1, sample("prefix"))
    revocations = [ledger.revoke(gs1, "gtin-00614141123452-licence"), ledger.revoke(gs1, by_index)]
    adapter = ledger.adapter()
    records = {r.locator: r for page in adapter.records(Cursor((by_id - 1,))) for r in page.records}
    for revocation, target in zip(revocations, (by_id, by_index), strict=True):
        record = records[f"entries/{revocation}"]
        assert record.kind == "revocation"
        assert record.supersedes == f"entries/{target}"
        revoked = adapter.translate(records[f"entries/{target}"]).credential_id
        assert adapter.revoked_credential_id(record) == revoked
        with pytest.raises(TranslationError) as caught:
            adapter.translate(record)
        assert caught.value.code == "MAPPING_REVOCATION_RECORD"
    # A fresh adapter that starts after the records still finds the mapping of the record a revocation names.
    fresh = ledger.adapter()
    record = fresh.fetch(f"entries/{revocations[0]}")
    assert fresh.revoked_credential_id(record) == adapter.translate(records[f"entries/{by_id}"]).credential_id


def test_records_without_a_mapping_are_skipped_and_listed(ledger: Ledger, gs1: SubmitterKey) -> None:
    unmapped = ledger.append(gs1, {"recordType": "mill-test-report", "heatNumber": "H-1"})
    revocation = ledger.revoke(gs1, unmapped)
    mapped = ledger.append(gs1, sample("prefix"))
    adapter = ledger.adapter()
    assert _locators(adapter, Cursor((unmapped - 1,))) == [f"entries/{mapped}"]
    assert [loc for loc, _ in adapter.skipped] == [f"entries/{unmapped}", f"entries/{revocation}"]
    record = adapter.fetch(f"entries/{unmapped}")  # fetch returns it; translating it is the error
    with pytest.raises(TranslationError) as caught:
        adapter.translate(record)
    assert caught.value.code == "PLAIN_LEDGER_NO_MAPPING"
    assert caught.value.problem.pointer == "/recordType"


def test_custom_mapping_file_by_record_type(ledger: Ledger, gs1: SubmitterKey, tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "adapters/plain_ledger/mappings/gs1-company-prefix-license.yaml"
    text = source.read_text().replace("plain-ledger/gs1-company-prefix-license", "example/acme-prefix")
    (tmp_path / "acme.yaml").write_text(text)
    index = ledger.append(gs1, sample("prefix", recordType="acme-prefix"))
    adapter = ledger.adapter(mappings={"acme-prefix": "acme.yaml"}, configDir=str(tmp_path))
    translation = adapter.translate(adapter.fetch(f"entries/{index}"))
    assert translation.evidence["mappingId"] == "https://w3id.org/vcgate/mappings/example/acme-prefix"


def test_fetch_errors(ledger: Ledger) -> None:
    adapter = ledger.adapter()
    with pytest.raises(PlainLedgerAdapterError) as caught:
        adapter.fetch("entries/999999")
    assert caught.value.problem.code == "PLAIN_LEDGER_NOT_FOUND"
    for bad in ("records/abc", "entries/01", "entries/-1", "entries/"):
        with pytest.raises(InputError):
            adapter.fetch(bad)


def test_health(ledger: Ledger) -> None:
    health = ledger.adapter().health()
    size = int(ledger.client.checkpoint().split("\n")[1])
    assert (health.status, health.ledger_height) == ("ok", size)
    other_key = PlainLedgerAdapter.from_config(
        {"url": ledger.url, "logVerifierKey": LogKey.generate(ledger.key.origin).verifier.to_vkey()}
    ).health()
    assert other_key.status == "down"
    assert "PLAIN_LEDGER_CHECKPOINT_SIGNATURE_INVALID" in other_key.detail
    unreachable = PlainLedgerAdapter.from_config(
        {"url": f"http://127.0.0.1:{free_port()}", "logVerifierKey": ledger.vkey, "timeout": 2}
    ).health()
    assert unreachable.status == "down"
    assert "PLAIN_LEDGER_UNAVAILABLE" in unreachable.detail


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"logVerifierKey": "x"}, "setting 'url' is required"),
        ({"url": "http://127.0.0.1:1"}, "setting 'logVerifierKey' is required"),
        ({"url": "http://127.0.0.1:1", "logVerifierKey": "x"}, "not a note verifier key"),
        ({"mode": "witness"}, "set 'witness'"),
        ({"mode": "observer"}, "'partner' or 'witness'"),
        ({"mappings": {"a": "builtin:nope"}}, "no bundled plain-ledger mapping"),
        ({"pageSize": 0}, "pageSize"),
        ({"witness": "gateway"}, "must be a DID"),
    ],
)
def test_bad_configuration_names_the_setting(ledger: Ledger, config: dict[str, object], message: str) -> None:
    plugin = load_adapter("plain-ledger")
    full = {"url": ledger.url, "logVerifierKey": ledger.vkey, **config}
    if "logVerifierKey" in config or "url" in config:
        full = dict(config)
    with pytest.raises(AdapterConfigError) as caught:
        plugin.create(full)
    assert message in str(caught.value)
    assert "plain-ledger" in str(caught.value)


def test_describe_names_ledger_and_published_mappings(ledger: Ledger) -> None:
    info = ledger.adapter(id="gs1us-registry").describe().to_json()
    assert info["id"] == "gs1us-registry"
    assert info["kind"] == "plain"
    assert info["ledgerId"] == ledger.key.ledger_id
    assert [m["id"].rsplit("/", 1)[1] for m in info["mappings"]] == [
        "gs1-company-prefix-license",
        "gs1-identification-key-license",
        "cbp-3461-entry",
    ]
    assert {m["issuanceMode"] for m in info["mappings"]} == {"partner"}
    assert json.loads(json.dumps(info)) == info
