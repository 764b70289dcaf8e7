"""Commodity scenario worlds (examples/commodities/*.yaml) built on real ledgers with signed credentials.

Every credential is recorded on the ledger its scenario names, translated by a published (passthrough) mapping and
signed by its issuer's own key (partner mode); the verification pipeline then checks proofs, evidence against the
pinned anchors, bindings, status and trust exactly as in a job. Source (STYLE.md 9): the scenario files in this
repository, written from the Traceability Vocabulary's credential schemas (../shared/standards/traceability-schemas).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from tests.jobs._world import CHECKED_AT, Actor, World, passthrough_mapping, plain_checkers
from vcgate.adapters.plain_ledger import LogKey, PlainLedgerStore
from vcgate.gateway._jobs import VerificationEnvironment
from vcgate.gateway._links import CredentialGraph, EntryVerdict
from vcgate.gateway._parties import Identifier
from vcgate.gateway._store import Store
from vcgate.gateway.verification._keys import KeyPair
from vcgate.gateway.workflows import builtin_workflow
from vcgate.gateway.workflows._decide import session
from vcgate.gateway.workflows._entries import judge_in_order, parse_workflow_entry

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "examples" / "commodities"
EXAMPLES = ROOT / "examples" / "credentials"


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {k: _merge(base.get(k), over[k]) if k in over else base[k] for k in {**base, **over}}
    if isinstance(base, list) and isinstance(over, list) and base and isinstance(base[0], dict):
        # Each listed item overrides the base's first item (an inspection, a line item).
        return [_merge(base[0], o) for o in over]
    return copy.deepcopy(over)


def _dids(value: Any, world: World) -> Any:
    # "did:party:<id>" in a scenario file stands for that party's (per-run) DID.
    if isinstance(value, str) and value.startswith("did:party:"):
        return world.actors[value.removeprefix("did:party:")].did
    if isinstance(value, list):
        return [_dids(v, world) for v in value]
    if isinstance(value, dict):
        return {k: _dids(v, world) for k, v in value.items()}
    return value


@dataclass
class CommodityWorld:
    """A scenario's world: the credentials as the store holds them and an environment to verify them."""

    name: str
    scenario: dict[str, Any]
    world: World
    store: Store
    env: VerificationEnvironment

    def verdicts(self) -> dict[str, EntryVerdict]:
        """Every scenario entry judged by the scenario's workflow, keyed by entry number."""
        wf = builtin_workflow(self.scenario["workflow"])
        views = self.env.views(set(self.world.credentials))
        graph = CredentialGraph.of(views.values())
        run = session(wf, graph, self.env.parties, self.env.trust)
        entries = [parse_workflow_entry(wf, row) for row in self.scenario["entries"]]
        out = judge_in_order(run, entries, checked_at=CHECKED_AT, policy=self.env.trust.policy_name)
        return {v.entry_number: v for v in out}


def build(name: str, tmp: Path) -> CommodityWorld:
    """Build the world of ``examples/commodities/<name>.yaml`` under ``tmp``."""
    scenario = yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text(encoding="utf-8"))
    w = World(tmp)
    for p in scenario["parties"]:
        idents = tuple(Identifier(i["scheme"], i["value"]) for i in p.get("identifiers", ()))
        w.actors[p["id"]] = Actor(p["id"], KeyPair.generate("ed25519"), tuple(p["names"]), idents)
    w.log_key = LogKey.generate()
    w.ledger = PlainLedgerStore.create(tmp / "plain-ledger.sqlite", w.log_key, clock=w._clock)
    for item in _credentials(scenario):
        t = item["type"]
        w.mappings.setdefault(t, passthrough_mapping(t))
        subject = _dids(copy.deepcopy(item["subject"]), w)
        if "base" in item:
            base = json.loads((EXAMPLES / item["base"]).read_text(encoding="utf-8"))["credentialSubject"]
            subject = _merge(base, subject)
        w.issue_on_ledger(
            item["issuer"],
            t,
            subject,
            at=_time(item["at"]),
            valid_from=item["validFrom"],
            valid_until=item.get("validUntil"),
        )
    store = Store.open(f"sqlite:///{tmp / 'store.sqlite'}")
    _fill(w, store)
    policy = w.policy(roots_of_authority=scenario.get("roots_of_authority", {}))
    env = VerificationEnvironment(store, policy, checked_at=CHECKED_AT, checkers=plain_checkers())
    return CommodityWorld(name, scenario, w, store, env)


def _fill(w: World, store: Store) -> None:
    # What World.fill does, without the IPR world's GS1 status lists.
    assert w.ledger is not None
    assert w.log_key is not None
    for a in w.actors.values():
        store.put_party(a.party())
    for m in w.mappings.values():
        store.put_mapping(m)
    store.put_credentials(w.credentials.values(), source="commodity-scenario")
    store.observe(w.log_key.ledger_id, at=CHECKED_AT - timedelta(hours=1), height=w.ledger.tree_size())


def _credentials(scenario: dict[str, Any]) -> list[dict[str, Any]]:
    items = list(scenario["credentials"])
    summaries = scenario.get("entry_summaries")
    if summaries:
        for e in scenario["entries"]:
            day = str(e["entryDate"])[:10]
            items.append(
                {
                    "type": "CBP7501EntrySummaryCredential",
                    "issuer": summaries["issuer"],
                    "ledger": summaries["ledger"],
                    "at": f"{day}T06:00:00Z",
                    "validFrom": f"{day}T00:00:00Z",
                    "subject": {
                        "type": ["CBPEntrySummary"],
                        "entryNumber": e["entryNumber"],
                        "entryDate": day,
                        "importerNumber": e["importerOfRecord"],
                        "countryOfOrigin": summaries["countryOfOrigin"],
                        "descriptionOfMerchandise": summaries["descriptionOfMerchandise"],
                    },
                }
            )
    return items
