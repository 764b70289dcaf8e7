"""The IPR workflow (workflows/ipr.yaml run by the engine) gives the verdicts the hard-coded linker it replaced gave.

Before ``gateway/_links.py``'s decision logic was removed, this test ran both engines side by side over the jobs
tests' scenario rows and hypothesis-generated entries (commits on main up to the removal) and required identical
verdicts, reasons and steps. The removal commit recorded the old engine's answers as regression vectors
(``vectors/ipr-linker-equivalence.jsonl``, 415 cases: the jobs scenarios, then entries drawn with a fixed seed from the
same world's GTINs, invoices, importers, manufacturers, dates, quantities and prior claims by claimant); the engine
must keep giving exactly those verdicts, reason codes, kinds, steps and clauses. Details and ids are not compared:
the world's keys (hence DIDs and credential ids) are generated per run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.jobs._world import CHECKED_AT
from vcgate.gateway._links import EntryVerdict, parse_entry
from vcgate.gateway.workflows._decide import decide_entry, session

VECTORS = [
    json.loads(line)
    for line in (Path(__file__).parent / "vectors" / "ipr-linker-equivalence.jsonl").read_text().splitlines()
]


def comparable(v: EntryVerdict) -> dict[str, Any]:
    out = v.to_json()
    return {
        "verdict": out["verdict"],
        "lines": [
            {
                "line": ln["line"],
                "verdict": ln["verdict"],
                "reasons": [[r["code"], r["kind"], r["step"], r["clause"]] for r in ln["reasonDetails"]],
                "steps": [[s["step"], s["status"], s["code"], s["clause"]] for s in ln["steps"]],
            }
            for ln in out["lines"]
        ],
    }


def test_the_vectors_cover_every_kind_of_verdict_and_many_reasons() -> None:
    verdicts = {c["expected"]["verdict"] for c in VECTORS}
    codes = {r[0] for c in VECTORS for ln in c["expected"]["lines"] for r in ln["reasons"]}
    assert verdicts == {"authorized", "not_authorized", "undetermined"}
    assert len(codes) >= 20
    assert len(VECTORS) == 415


def test_the_ipr_workflow_reproduces_the_old_linker(ipr_world: Any) -> None:
    _, _, env = ipr_world
    mismatches = []
    for case in VECTORS:
        entry = parse_entry(case["row"])
        prior: dict[tuple[str, str], dict[str | None, int]] = {}
        for invoice, gtin, claimant, units in case["prior"]:
            by = prior.setdefault((invoice, gtin), {})
            by[claimant] = by.get(claimant, 0) + units
        graph = env.graph_for([entry])
        run = session(env.workflow, graph, env.parties, env.trust)
        got = decide_entry(entry, graph, env.parties, env.trust, checked_at=CHECKED_AT, prior_claims=prior, run=run)
        assert got.workflow == "ipr"
        if comparable(got) != case["expected"]:
            mismatches.append(case["name"])
    assert mismatches == []
