"""Job reports: a signed ``VerificationReport`` credential, its JSON, and a self-contained HTML page.

The credential follows ``canonical_schema/schemas/VerificationReport.json``: ``credentialSubject`` is a
``VerificationJobResult`` with the job id, policy, instants, per-entry verdicts (each line with its reason codes, the
deciding clause, the credentials and evidence behind each step of the chain, and the ledger heights seen) and the
highest ledger height seen per ledger. A malformed input row appears as an entry with verdict ``undetermined``, no
lines, and its problem (``malformed: true``). The HTML page needs nothing but a browser: inline CSS, no scripts,
no external resources.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from vcgate.canonical_schema import CANONICAL_CONTEXT

from .verification._keys import KeyPair
from .verification._proofs import sign

REPORT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://w3id.org/vcgate/verification-report/v1")


def _ts(t: datetime) -> str:
    return t.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _report_entries(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for r in rows:
        if r.get("duplicate"):
            continue
        if r.get("problem") is not None:
            problem = r["problem"]
            out.append(
                {
                    "entryNumber": f"row {r['row']}",
                    "row": r["row"],
                    "verdict": "undetermined",
                    "malformed": True,
                    "reasons": ["ENTRY_MALFORMED", problem.get("code", "")],
                    "problem": problem,
                    "lines": [],
                }
            )
            continue
        result = r.get("result")
        if result is None:
            out.append(
                {
                    "entryNumber": f"row {r['row']}",
                    "row": r["row"],
                    "verdict": "undetermined",
                    "reasons": ["NOT_VERIFIED_YET"],
                    "lines": [],
                }
            )
            continue
        item = {k: v for k, v in result.items() if k != "credentials"}
        item["row"] = r["row"]
        item["credentialSummaries"] = result.get("credentials", [])
        out.append(item)
    return out


def build_report(
    job: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    *,
    issuer: str,
    issued_at: datetime,
) -> dict[str, Any]:
    """The unsigned ``VerificationReport`` credential for a job (``job`` and ``rows`` as :func:`job_results` gives).

    Its id is derived from the job id and policy digest, so the same job always yields the same report id.
    """
    entries = _report_entries(rows)
    heights: dict[str, int] = {}
    dates: list[str] = []
    for e in entries:
        for k, h in (e.get("ledgerHeights") or {}).items():
            heights[k] = max(heights.get(k, h), h)
        if "effectiveAt" in e:
            dates.append(e["effectiveAt"])
    report_id = "urn:uuid:" + str(uuid.uuid5(REPORT_ID_NAMESPACE, f"{job['id']}|{job['policy_digest']}"))
    subject: dict[str, Any] = {
        "type": ["VerificationJobResult"],
        "jobId": job["id"],
        "policyId": job["policy_name"],
        "policyDigest": job["policy_digest"],
        # Each entry is judged at its own entry date (entries[].effectiveAt); the report names the latest.
        "effectiveAt": max(dates) if dates else job["checked_at"],
        "checkedAt": job["checked_at"],
        "entries": entries,
        "ledgerHeights": heights,
    }
    return {
        "@context": list(CANONICAL_CONTEXT),
        "id": report_id,
        "type": ["VerifiableCredential", "VerificationReport"],
        "issuer": issuer,
        "validFrom": _ts(issued_at),
        "credentialSubject": subject,
    }


def sign_report(report: Mapping[str, Any], key: KeyPair, *, created: datetime) -> dict[str, Any]:
    """Sign the report with the gateway's key (``eddsa-jcs-2022``: reports can be large, JCS is linear)."""
    return sign(dict(report), key, suite="eddsa-jcs-2022", created=created)


# ---------------------------------------------------------------------------------------------------------------
# HTML

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#14233c;color:#fff;padding:18px 28px}header h1{margin:0 0 6px;font-size:20px}
header .meta{opacity:.85;font-size:12.5px}main{padding:18px 28px;max-width:1400px}
.cards{display:flex;gap:12px;margin:4px 0 18px}.card{background:#fff;border-radius:8px;padding:10px 16px;
box-shadow:0 1px 2px #0002;min-width:130px}.card b{display:block;font-size:22px}
.v{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px;white-space:nowrap}
.v-authorized{background:#d8f3e0;color:#11602e}.v-not_authorized{background:#fbdada;color:#8e1616}
.v-undetermined{background:#fff0c2;color:#7a5700}
.s-passed{color:#11602e}.s-failed{color:#8e1616;font-weight:600}.s-error{color:#7a5700;font-weight:600}
.s-skipped{color:#888}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:5px 8px;
border-bottom:1px solid #e3e6ea;vertical-align:top}th{background:#eef1f5;font-weight:600;font-size:12.5px}
section.entry{background:#fff;border-radius:8px;margin:0 0 14px;box-shadow:0 1px 2px #0002}
section.entry>h2{font-size:15px;margin:0;padding:10px 14px;border-bottom:1px solid #e3e6ea}
section.entry .body{padding:8px 14px 14px}.line{margin:10px 0 0}.line h3{font-size:13.5px;margin:6px 0}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;word-break:break-all}
.reason{margin:2px 0}.muted{color:#6a7280}.clause{font-family:ui-monospace,monospace;font-size:12px;
background:#eef1f5;padding:0 4px;border-radius:3px}details>summary{cursor:pointer;color:#2a4d8f}
nav.toc a{margin-right:10px}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _verdict(v: str) -> str:
    return f'<span class="v v-{_e(v)}">{_e(v.replace("_", " "))}</span>'


def _credential_cell(cid: str, summaries: Mapping[str, Mapping[str, Any]]) -> str:
    c = summaries.get(cid)
    if c is None:
        return f'<div class="mono">{_e(cid)}</div>'
    types = ", ".join(c.get("types") or [])
    ledgers = "; ".join(
        f"{_e(ev['ledgerId'])} @ {_e(ev['ledgerHeight'])} <span class='muted'>({_e(ev['ledgerKind'])})</span>"
        for ev in c.get("evidence") or []
    )
    failure = f" — <span class='s-failed'>{_e(c['failure'])}</span>" if c.get("failure") else ""
    return (
        f'<div><b>{_e(types)}</b> <span class="s-{_e(_status_class(c.get("status", "")))}">{_e(c.get("status"))}</span>'
        f"{failure}</div>"
        f'<div class="mono muted">{_e(cid)}</div>'
        f"<div>issuer <code>{_e(c.get('issuer'))}</code> · effective issuer"
        f" <b>{_e(c.get('effectiveIssuer') or '—')}</b></div>"
        f"<div>ledger: {ledgers or '<span class=muted>none (no ledger evidence)</span>'} · evidence "
        f"<span class='s-{_e(_status_class(c.get('evidenceStatus', '')))}'>{_e(c.get('evidenceStatus'))}</span></div>"
    )


def _status_class(status: str) -> str:
    return {"verified": "passed", "invalid": "failed", "error": "error", "none": "skipped"}.get(status, status)


def render_html(report: Mapping[str, Any]) -> str:
    """A self-contained HTML page for a (signed or unsigned) ``VerificationReport`` credential."""
    subject = report["credentialSubject"]
    entries = subject["entries"]
    counts: dict[str, int] = {}
    for e in entries:
        counts[e["verdict"]] = counts.get(e["verdict"], 0) + 1
    proof = report.get("proof") or {}
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>vcgate verification report — {_e(subject['jobId'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<header>",
        f"<h1>Verification report · job <span class='mono'>{_e(subject['jobId'])}</span></h1>",
        "<div class='meta'>",
        f"policy <b>{_e(subject.get('policyId'))}</b> <span class='mono'>{_e(subject['policyDigest'][:16])}…</span>"
        f" · checked at {_e(subject['checkedAt'])} · issued by <span class='mono'>{_e(report.get('issuer'))}</span>",
        f" · report <span class='mono'>{_e(report.get('id'))}</span>",
        f" · {'signed (' + _e(proof.get('cryptosuite')) + ')' if proof else 'unsigned'}",
        "</div></header><main>",
        "<div class='cards'>",
    ]
    for v in ("authorized", "not_authorized", "undetermined"):
        parts.append(f"<div class='card' data-count='{v}'><b>{counts.get(v, 0)}</b>{_verdict(v)}</div>")
    parts.append(f"<div class='card'><b>{len(entries)}</b>entries</div></div>")

    heights = subject.get("ledgerHeights") or {}
    if heights:
        parts.append("<h2 style='font-size:15px'>Ledger heights seen</h2><table class='heights'><tr>")
        parts.append("<th>ledger</th><th>highest height seen in evidence</th></tr>")
        for k in sorted(heights):
            parts.append(f"<tr><td class='mono'>{_e(k)}</td><td>{_e(heights[k])}</td></tr>")
        parts.append("</table>")

    parts.append("<h2 style='font-size:15px'>Entries</h2><table class='summary'><tr><th>row</th><th>entry</th>")
    parts.append("<th>entry date</th><th>verdict</th><th>reasons</th></tr>")
    for i, e in enumerate(entries):
        reasons = ", ".join(f"<code>{_e(r)}</code>" for r in e.get("reasons") or [])
        parts.append(
            f"<tr class='summary-row' data-entry='{_e(e['entryNumber'])}' data-verdict='{_e(e['verdict'])}'>"
            f"<td>{_e(e.get('row'))}</td><td><a href='#e{i}'>{_e(e['entryNumber'])}</a></td>"
            f"<td>{_e(e.get('effectiveAt', '')[:10])}</td><td>{_verdict(e['verdict'])}</td><td>{reasons}</td></tr>"
        )
    parts.append("</table><div style='height:16px'></div>")

    for i, e in enumerate(entries):
        summaries = {c["id"]: c for c in e.get("credentialSummaries") or []}
        parts.append(
            f"<section class='entry' id='e{i}' data-entry='{_e(e['entryNumber'])}' data-verdict='{_e(e['verdict'])}'>"
            f"<h2>Entry {_e(e['entryNumber'])} {_verdict(e['verdict'])}"
            f" <span class='muted' style='font-weight:400'>row {_e(e.get('row'))}"
            f"{' · entry date ' + _e(e['effectiveAt'][:10]) if e.get('effectiveAt') else ''}</span></h2>"
            "<div class='body'>"
        )
        if e.get("malformed"):
            p = e.get("problem") or {}
            parts.append(
                f"<p class='s-failed'>Malformed row: <code>{_e(p.get('code'))}</code> {_e(p.get('detail'))}"
                f" <span class='muted'>{_e(p.get('pointer', ''))}</span></p>"
            )
        for ln in e.get("lines") or []:
            parts.append(
                f"<div class='line' data-line='{_e(ln['line'])}' data-verdict='{_e(ln['verdict'])}'>"
                f"<h3>Line {_e(ln['line'])} · GTIN <span class='mono'>{_e(ln.get('gtin'))}</span> · "
                f"{_e(ln.get('quantity'))} units · {_verdict(ln['verdict'])} · decided by "
                f"<span class='clause'>{_e(ln.get('clause'))}</span></h3>"
            )
            for r in ln.get("reasonDetails") or []:
                kind = {"pass": "passed", "fail": "failed"}.get(r["kind"], r["kind"])
                parts.append(
                    f"<div class='reason'><code class='s-{_e(kind)}'>"
                    f"{_e(r['code'])}</code> <span class='muted'>[{_e(r['step'])}]</span> {_e(r.get('detail'))}</div>"
                )
            parts.append(
                "<table class='chain'><tr><th>step</th><th>status</th><th>code · clause</th>"
                "<th>credential, ledger and evidence</th><th>detail</th></tr>"
            )
            for s in ln.get("steps") or []:
                creds = "".join(_credential_cell(c, summaries) for c in s.get("credentials") or [])
                evidence = "".join(f"<div class='mono muted'>{_e(x)}</div>" for x in s.get("evidence") or [])
                parts.append(
                    f"<tr class='chain-row' data-step='{_e(s['step'])}' data-status='{_e(s['status'])}'>"
                    f"<td><b>{_e(s['step'])}</b></td><td class='s-{_e(s['status'])}'>{_e(s['status'])}</td>"
                    f"<td><code>{_e(s['code'])}</code><br><span class='clause'>{_e(s['clause'])}</span></td>"
                    f"<td>{creds or '<span class=muted>—</span>'}{evidence}</td><td>{_e(s.get('detail'))}</td></tr>"
                )
            parts.append("</table></div>")
        parts.append("</div></section>")
    parts.append(
        "<p class='muted'>Generated by vcgate. Verdicts: <b>authorized</b> — every step of the chain holds; "
        "<b>not authorized</b> — a step failed; <b>undetermined</b> — a step could not be decided (no adapter, no "
        "trust anchor, a ledger not read recently enough).</p>"
    )
    parts.append("</main></body></html>")
    return "\n".join(parts)
