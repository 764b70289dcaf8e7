"""Conformance reports: the result of every case, written as JSON, JUnit XML and one self-contained HTML page.

Outcomes: ``passed``; ``failed`` (with the reason); ``opted-out`` (the target declared the case cannot pass, with
a reason, and it indeed fails: a strict xfail). A run passes when no case failed.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ._cases import GROUPS

Outcome = Literal["passed", "failed", "opted-out"]
REPORT_FORMAT = "vcgate-conformance-report/1"
REPORT_FILES = {"json": "conformance.json", "junit": "conformance-junit.xml", "html": "conformance.html"}


@dataclass(frozen=True)
class CaseResult:
    """One case's outcome, with the reason for a failure or an opt-out."""

    id: str
    group: str
    title: str
    outcome: Outcome
    reason: str = ""
    duration: float = 0.0
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "group": self.group,
            "title": self.title,
            "outcome": self.outcome,
            "reason": self.reason,
            "durationSeconds": round(self.duration, 4),
            "source": self.source,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> CaseResult:
        """Parse :meth:`to_json` output."""
        return cls(
            id=str(value["id"]),
            group=str(value["group"]),
            title=str(value["title"]),
            outcome=value["outcome"],
            reason=str(value.get("reason", "")),
            duration=float(value.get("durationSeconds", 0.0)),
            source=str(value.get("source", "")),
        )


@dataclass(frozen=True)
class RunReport:
    """A whole run: the target, when it ran, and every case's result in catalogue order."""

    target: str
    target_kind: str
    started: str
    finished: str
    vcgate_version: str
    cases: tuple[CaseResult, ...]
    errors: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """True when at least one case ran, none failed and the session itself had no errors."""
        return bool(self.cases) and not self.errors and all(c.outcome != "failed" for c in self.cases)

    @property
    def failed_ids(self) -> tuple[str, ...]:
        """Ids of the failed cases."""
        return tuple(c.id for c in self.cases if c.outcome == "failed")

    def summary(self) -> dict[str, int]:
        """Counts per outcome."""
        out = {"total": len(self.cases), "passed": 0, "failed": 0, "opted-out": 0}
        for c in self.cases:
            out[c.outcome] += 1
        return out

    def groups(self) -> dict[str, dict[str, int]]:
        """Counts per outcome for each group that has cases, in report order."""
        out: dict[str, dict[str, int]] = {}
        for name in GROUPS.values():
            members = [c for c in self.cases if c.group == name]
            if members:
                counts = {"total": len(members), "passed": 0, "failed": 0, "opted-out": 0}
                for c in members:
                    counts[c.outcome] += 1
                out[name] = counts
        return out

    def to_json(self) -> dict[str, Any]:
        """The JSON report."""
        return {
            "format": REPORT_FORMAT,
            "target": self.target,
            "targetKind": self.target_kind,
            "started": self.started,
            "finished": self.finished,
            "vcgateVersion": self.vcgate_version,
            "passed": self.passed,
            "summary": self.summary(),
            "groups": self.groups(),
            "errors": list(self.errors),
            "cases": [c.to_json() for c in self.cases],
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> RunReport:
        """Parse :meth:`to_json` output."""
        if value.get("format") != REPORT_FORMAT:
            raise ValueError(f"not a {REPORT_FORMAT} document")
        return cls(
            target=str(value["target"]),
            target_kind=str(value["targetKind"]),
            started=str(value["started"]),
            finished=str(value["finished"]),
            vcgate_version=str(value["vcgateVersion"]),
            cases=tuple(CaseResult.from_json(c) for c in value["cases"]),
            errors=tuple(str(e) for e in value.get("errors", [])),
        )

    def write(self, directory: Path) -> dict[str, Path]:
        """Write the three reports into ``directory`` (created if needed); return their paths by format."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = {k: directory / v for k, v in REPORT_FILES.items()}
        paths["json"].write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        paths["junit"].write_bytes(junit_xml(self))
        paths["html"].write_text(html_report(self), encoding="utf-8")
        return paths


def junit_xml(report: RunReport) -> bytes:
    """JUnit XML: one ``<testsuite>`` per group, one ``<testcase>`` per case (``name`` starts with the case id);
    failures carry the reason, opt-outs are ``<skipped>`` with the declared reason."""
    root = ET.Element("testsuites", name=f"vcgate conformance: {report.target}")
    total = report.summary()
    root.set("tests", str(total["total"]))
    root.set("failures", str(total["failed"]))
    root.set("skipped", str(total["opted-out"]))
    root.set("errors", str(len(report.errors)))
    for group, counts in report.groups().items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=group,
            tests=str(counts["total"]),
            failures=str(counts["failed"]),
            skipped=str(counts["opted-out"]),
            errors="0",
            timestamp=report.started,
        )
        suite.set("time", f"{sum(c.duration for c in report.cases if c.group == group):.3f}")
        for case in (c for c in report.cases if c.group == group):
            element = ET.SubElement(suite, "testcase", classname=f"conformance.{group}", name=f"{case.id} {case.title}")
            element.set("time", f"{case.duration:.3f}")
            if case.outcome == "failed":
                failure = ET.SubElement(element, "failure", message=_first_line(case.reason))
                failure.text = case.reason
            elif case.outcome == "opted-out":
                ET.SubElement(element, "skipped", message=f"opted out: {case.reason}")
    if report.errors:
        suite = ET.SubElement(root, "testsuite", name="session", tests="1", failures="0", errors="1", skipped="0")
        element = ET.SubElement(suite, "testcase", classname="conformance.session", name="session")
        error = ET.SubElement(element, "error", message=_first_line(report.errors[0]))
        error.text = "\n".join(report.errors)
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"


def _first_line(text: str) -> str:
    return (text.splitlines() or [""])[0][:300]


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1b1f24;max-width:80rem}
h1{font-size:1.4rem;margin-bottom:.2rem} h2{font-size:1.1rem;margin-top:2rem}
.meta{color:#57606a;margin:0 0 1rem} table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f6f8fa} .passed{color:#1a7f37;font-weight:600} .failed{color:#cf222e;font-weight:600}
.opted-out{color:#9a6700;font-weight:600} .verdict{font-size:1.2rem;padding:.4rem .8rem;display:inline-block;
border-radius:.3rem} .verdict.passed{background:#dafbe1} .verdict.failed{background:#ffebe9}
code{font-family:ui-monospace,monospace} td.reason{white-space:pre-wrap;font-family:ui-monospace,monospace;
font-size:.8rem} td.id{white-space:nowrap}
"""


def html_report(report: RunReport) -> str:
    """One self-contained HTML page (inline CSS, no scripts, no external resources)."""
    e = html.escape
    verdict = "passed" if report.passed else "failed"
    summary = report.summary()
    rows = []
    for group, counts in report.groups().items():
        rows.append(
            f"<tr><td>{e(group)}</td><td>{counts['total']}</td><td class=passed>{counts['passed']}</td>"
            f"<td class=failed>{counts['failed']}</td><td class=opted-out>{counts['opted-out']}</td></tr>"
        )
    sections = []
    for group in report.groups():
        lines = []
        for c in (c for c in report.cases if c.group == group):
            lines.append(
                f"<tr id='{e(c.id)}'><td class=id><code>{e(c.id)}</code></td><td>{e(c.title)}"
                f"{'<br><small>' + e(c.source) + '</small>' if c.source else ''}</td>"
                f"<td class='{e(c.outcome)}'>{e(c.outcome)}</td><td class=reason>{e(c.reason)}</td>"
                f"<td>{c.duration:.3f}s</td></tr>"
            )
        sections.append(
            f"<h2>{e(group)}</h2><table><tr><th>case</th><th>title</th><th>outcome</th><th>reason</th>"
            f"<th>time</th></tr>{''.join(lines)}</table>"
        )
    errors = "".join(f"<li><code>{e(x)}</code></li>" for x in report.errors)
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>vcgate conformance: {e(report.target)}</title><style>{_CSS}</style></head><body>"
        f"<h1>vcgate conformance report</h1><p class=meta>target <code>{e(report.target)}</code> "
        f"({e(report.target_kind)}) · vcgate {e(report.vcgate_version)} · {e(report.started)} – "
        f"{e(report.finished)}</p>"
        f"<p><span class='verdict {verdict}'>{verdict.upper()}</span> {summary['passed']} passed, "
        f"{summary['failed']} failed, {summary['opted-out']} opted out of {summary['total']} cases</p>"
        + (f"<h2>Session errors</h2><ul>{errors}</ul>" if errors else "")
        + "<h2>Summary by group</h2><table><tr><th>group</th><th>cases</th><th>passed</th><th>failed</th>"
        f"<th>opted out</th></tr>{''.join(rows)}</table>{''.join(sections)}</body></html>\n"
    )


def merge_outcome(previous: Outcome | None, new: Outcome) -> Outcome:
    """Combine the outcomes of one case's phases (setup, call, teardown): any failure wins."""
    if previous == "failed" or new == "failed":
        return "failed"
    return new if previous is None else previous


def ordered(results: Iterable[CaseResult], order: Mapping[str, int]) -> tuple[CaseResult, ...]:
    """Results in catalogue order."""
    return tuple(sorted(results, key=lambda c: order.get(c.id, 1 << 30)))
