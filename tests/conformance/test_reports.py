"""Report writers: JSON round-trips, JUnit XML has a suite per group and a failure per failed case, the HTML page
is self-contained with a per-group summary and every case's outcome and reason."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from vcgate.conformance_tests import REPORT_FILES, CaseResult, RunReport


@pytest.fixture
def report() -> RunReport:
    return RunReport(
        target="adapter:acme",
        target_kind="adapter",
        started="2025-01-01T00:00:00Z",
        finished="2025-01-01T00:00:03Z",
        vcgate_version="0.1.0",
        cases=(
            CaseResult("DM-001", "data model", "Base rules", "passed", "", 0.5, "VC 2.0 §4"),
            CaseResult(
                "EVD-003", "evidence", "Replay", "failed", "row/1: replay invalid: <REPLAY_MISMATCH> & more", 1.25
            ),
            CaseResult("ADP-003", "adapter behaviour", "Resume", "opted-out", "re-delivers; fixed in 2.0", 0.1),
        ),
    )


def test_summary_and_verdict(report: RunReport) -> None:
    assert not report.passed
    assert report.failed_ids == ("EVD-003",)
    assert report.summary() == {"total": 3, "passed": 1, "failed": 1, "opted-out": 1}
    assert list(report.groups()) == ["data model", "evidence", "adapter behaviour"]
    assert report.groups()["evidence"] == {"total": 1, "passed": 0, "failed": 1, "opted-out": 0}
    opted_only = RunReport("t", "adapter", "s", "f", "v", (report.cases[0], report.cases[2]))
    assert opted_only.passed
    assert not RunReport("t", "adapter", "s", "f", "v", ()).passed  # nothing ran: nothing is vouched for
    assert not RunReport("t", "adapter", "s", "f", "v", (report.cases[0],), errors=("collecting x: boom",)).passed


def test_json_round_trip(report: RunReport, tmp_path: Path) -> None:
    paths = report.write(tmp_path)
    assert {k: p.name for k, p in paths.items()} == REPORT_FILES
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["format"] == "vcgate-conformance-report/1"
    assert data["passed"] is False
    assert data["cases"][1] == {
        "id": "EVD-003",
        "group": "evidence",
        "title": "Replay",
        "outcome": "failed",
        "reason": "row/1: replay invalid: <REPLAY_MISMATCH> & more",
        "durationSeconds": 1.25,
        "source": "",
    }
    assert RunReport.from_json(data) == report
    with pytest.raises(ValueError, match="not a vcgate-conformance-report/1 document"):
        RunReport.from_json({"format": "other"})


def test_junit_xml(report: RunReport, tmp_path: Path) -> None:
    root = ET.parse(report.write(tmp_path)["junit"]).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "1")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["data model", "evidence", "adapter behaviour"]
    (failed,) = suites["evidence"].findall("testcase")
    assert failed.get("name") == "EVD-003 Replay"
    failure = failed.find("failure")
    assert failure is not None
    assert failure.text == "row/1: replay invalid: <REPLAY_MISMATCH> & more"
    (opted,) = suites["adapter behaviour"].findall("testcase")
    skipped = opted.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "opted out: re-delivers; fixed in 2.0"
    (passed,) = suites["data model"].findall("testcase")
    assert list(passed) == []


def test_html_is_self_contained(report: RunReport, tmp_path: Path) -> None:
    text = report.write(tmp_path)["html"].read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script|<link|<img|src=|@import|url\(", text, flags=re.I)
    assert "FAILED</span> 1 passed, 1 failed, 1 opted out of 3 cases" in text
    # Per-group summary rows, then one row per case with its outcome and (escaped) reason.
    assert "<tr><td>evidence</td><td>1</td><td class=passed>0</td><td class=failed>1</td>" in text
    assert (
        "<td class='failed'>failed</td><td class=reason>row/1: replay invalid: &lt;REPLAY_MISMATCH&gt; &amp; more"
        in text
    )
    assert "<td class='opted-out'>opted-out</td><td class=reason>re-delivers; fixed in 2.0</td>" in text
    for case in report.cases:
        assert f"<tr id='{case.id}'>" in text
