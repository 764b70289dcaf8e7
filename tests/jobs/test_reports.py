"""Reports: the signed VerificationReport credential validates against its schema and verifies with the gateway's
own verifier; the HTML page is self-contained and shows every entry, verdict and chain step."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest

from vcgate.canonical_schema import validate
from vcgate.gateway import DidResolver, KeyPair, Policy, Verifier
from vcgate.gateway._jobs import InlineExecutor, create_job, job_results, read_entry_file, run_job
from vcgate.gateway._reports import build_report, render_html, sign_report
from vcgate.gateway._store import Store

from ._world import CHECKED_AT, World

FACTORY = "tests.jobs._world:plain_checkers"


@pytest.fixture
def finished(world: World, rows: dict[str, dict[str, Any]], store: Store) -> dict[str, Any]:
    lines = [json.dumps(r) for r in rows.values()] + ['{"entryNumber": "X"}']
    parsed = read_entry_file("e.jsonl", "\n".join(lines).encode())
    create_job(store, parsed, world.policy(), job_id="job-r", checked_at=CHECKED_AT, source="t")
    run_job(store, "job-r", executor=InlineExecutor(), checker_factory=FACTORY)
    return job_results(store, "job-r")


def test_report_credential_validates_and_verifies(finished: dict[str, Any]) -> None:
    key = KeyPair.generate("ed25519")
    report = build_report(finished["job"], finished["rows"], issuer=key.controller, issued_at=CHECKED_AT)
    assert validate(report) == []
    signed = sign_report(report, key, created=CHECKED_AT)
    policy = Policy.from_mapping({**dict(Policy.default().raw), "max_credential_bytes": 16 << 20})
    result = Verifier(policy, DidResolver.offline()).check(signed, at=CHECKED_AT)
    assert result.status == "verified", result.to_json()
    subject = signed["credentialSubject"]
    assert subject["jobId"] == "job-r"
    assert len(subject["entries"]) == 16  # 15 entries + 1 malformed row
    malformed = [e for e in subject["entries"] if e.get("malformed")]
    assert [(e["verdict"], e["reasons"][1]) for e in malformed] == [("undetermined", "ENTRY_FIELD_MISSING")]
    # The same job always yields the same report id; a tampered verdict breaks the signature.
    assert (
        build_report(finished["job"], finished["rows"], issuer=key.controller, issued_at=CHECKED_AT)["id"]
        == (signed["id"])
    )
    bad = next(e for e in signed["credentialSubject"]["entries"] if e["verdict"] == "not_authorized")
    bad["verdict"] = "authorized"
    tampered = Verifier(policy, DidResolver.offline()).check(signed, at=CHECKED_AT)
    assert [p.code for p in tampered.problems] == ["SIGNATURE_INVALID"]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: list[dict[str, str]] = []
        self.chain_rows: list[tuple[str, str, str]] = []
        self.external: list[str] = []
        self.scripts = 0
        self._section: str = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "section" and "entry" in a.get("class", ""):
            self.sections.append(a)
            self._section = a["data-entry"]
        if tag == "tr" and a.get("class") == "chain-row":
            self.chain_rows.append((self._section, a["data-step"], a["data-status"]))
        if tag == "script":
            self.scripts += 1
        for k in ("src", "href"):
            if k in a and not a[k].startswith("#"):
                self.external.append(a[k])


def test_html_report_shows_each_entry_verdict_and_chain(finished: dict[str, Any]) -> None:
    report = build_report(finished["job"], finished["rows"], issuer="did:example:gw", issued_at=CHECKED_AT)
    page = render_html(report)
    parser = _Collector()
    parser.feed(page)
    entries = report["credentialSubject"]["entries"]
    assert [(s["data-entry"], s["data-verdict"]) for s in parser.sections] == [
        (e["entryNumber"], e["verdict"]) for e in entries
    ]
    assert parser.external == []  # self-contained
    assert parser.scripts == 0
    authorized = next(e for e in entries if e["verdict"] == "authorized")
    steps = [(st, status) for sec, st, status in parser.chain_rows if sec == authorized["entryNumber"]]
    assert steps == [(s, "passed") for s in ("importer", "gtin_owner", "ipr", "licence", "invoice", "quantity")]
    for e in entries:
        for ln in e["lines"]:
            for cid in ln["credentials"]:
                assert cid in page
    assert "<script" not in page
    assert "&lt;" not in "".join(e["entryNumber"] for e in entries)  # escaping sanity: numbers are plain
