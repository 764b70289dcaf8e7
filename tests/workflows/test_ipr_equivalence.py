"""The IPR workflow (workflows/ipr.yaml run by the engine) against the hard-coded linker it replaces
(``gateway._links.decide_entry``): identical verdicts, reasons (code, kind, step, clause, detail) and steps.

Entries: the jobs tests' scenario rows (tests/jobs/_world.py), and entries hypothesis generates from the same world's
GTINs, invoices, importers and manufacturers (known and unknown), dates, quantities and prior claims. The demo's
entries run through the same comparison in tests/workflows/test_demo_equivalence.py.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.jobs._world import CHECKED_AT
from vcgate.gateway._links import Entry, EntryVerdict, decide_entry, parse_entry
from vcgate.gateway.workflows._decide import decide


def comparable(v: EntryVerdict) -> list[Any]:
    """Everything a verdict says except timing and the workflow's name (which the old linker did not give)."""
    return [
        v.verdict,
        [
            (
                ln.line,
                ln.gtin,
                ln.quantity,
                ln.verdict,
                [(r.code, r.kind, r.step, r.clause, r.detail) for r in ln.reasons],
                [(s.name, s.status, s.code, s.clause, s.detail, s.credentials, s.evidence) for s in ln.steps],
            )
            for ln in v.lines
        ],
        [c.id for c in v.credentials],
    ]


Prior = dict[tuple[str, str], dict[str | None, int]]


def both(env: Any, entry: Entry, prior: Prior | None = None) -> tuple[list[Any], list[Any]]:
    graph = env.graph_for([entry])
    old = decide_entry(entry, graph, env.parties, env.trust, checked_at=CHECKED_AT, prior_claims=prior)
    new = decide(entry, graph, env.parties, env.trust, checked_at=CHECKED_AT, prior_claims=prior)
    assert new.workflow == "ipr"
    return comparable(old), comparable(new)


def test_every_jobs_scenario_gets_the_same_verdict_and_reasons(ipr_world: Any) -> None:
    _, rows, env = ipr_world
    verdicts = set()
    for row in rows.values():
        old, new = both(env, parse_entry(row))
        assert new == old
        verdicts.add(old[0])
    # The comparison covers every kind of verdict, not only refusals.
    assert verdicts == {"authorized", "not_authorized", "undetermined"}


def test_prior_claims_reconcile_the_same_way(ipr_world: Any) -> None:
    _, rows, env = ipr_world
    entry = parse_entry(rows["authorized"])
    key = ("INV-AUTH", entry.lines[0].gtin)
    for units in (0, 1099, 1100, 1101, 5000):
        for claimant in ("95-481237600", "12-345678900", None, "99-000000000"):
            old, new = both(env, entry, {key: {claimant: units}})
            assert new == old
    old, _ = both(env, entry, {key: {"95-481237600": 1101}})
    assert old[1][0][4][0][0] == "QUANTITY_EXCEEDS_INVOICE"
    # Another importer's claims on the buyer's invoice consume nothing.
    old, _ = both(env, entry, {key: {"12-345678900": 5000}})
    assert old[0] == "authorized"


def _world_values(rows: dict[str, dict[str, Any]]) -> dict[str, list[Any]]:
    gtins = sorted({ln["gtin"] for r in rows.values() for ln in r["lines"]})
    return {
        "gtins": [*gtins, "00614141999996"],
        "invoices": [*sorted({r["invoiceNumber"] for r in rows.values()}), "INV-NONE"],
        "importers": ["95-481237600", "12-345678900", "99-000000000"],
        "manufacturers": ["CNDONSUM88DON", "CNSHAKNO12SHE", "XXUNKNOWN0001", None],
    }


@st.composite
def entries(draw: st.DrawFn, values: dict[str, list[Any]]) -> tuple[dict[str, Any], Prior]:
    n = draw(st.integers(1, 3))
    day = date(2022, 6, 1) + timedelta(days=draw(st.integers(0, 1500)))
    lines = []
    for i in range(n):
        line: dict[str, Any] = {
            "line": i + 1,
            "gtin": draw(st.sampled_from(values["gtins"])),
            "quantity": draw(st.integers(1, 1500)),
        }
        mid = draw(st.sampled_from(values["manufacturers"]))
        if mid is not None:
            line["manufacturerId"] = mid
        lines.append(line)
    invoice = draw(st.sampled_from(values["invoices"]))
    row = {
        "entryNumber": f"HYP-{draw(st.integers(0, 10**6)):07d}",
        "importerOfRecord": draw(st.sampled_from(values["importers"])),
        "entryDate": day.isoformat(),
        "invoiceNumber": invoice,
        "lines": lines,
    }
    claimants = st.sampled_from([*values["importers"], None])
    prior = {(invoice, draw(st.sampled_from(values["gtins"]))): draw(st.dictionaries(claimants, st.integers(0, 1500)))}
    return row, prior


@pytest.mark.slow
def test_generated_entries_get_the_same_verdict_and_reasons(ipr_world: Any) -> None:
    _, rows, env = ipr_world
    values = _world_values(rows)
    seen: set[str] = set()

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(entries(values))
    def check(case: tuple[dict[str, Any], Prior]) -> None:
        row, prior = case
        entry = parse_entry(copy.deepcopy(row))
        old, new = both(env, entry, prior)
        assert new == old
        seen.update(code for ln in old[1] for code, *_ in ln[4])

    check()
    # The generated set reached many distinct reasons, not one failure over and over.
    assert len(seen) >= 6, seen
