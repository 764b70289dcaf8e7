"""Judging an entry with a workflow: the bridge from the jobs' :class:`~vcgate.gateway._links.Entry`, trust policy
and claim book to the pure engine (docs/workflows.md, "How a job runs a workflow")."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from .._links import CredentialGraph, Entry, EntryVerdict, PriorClaims
from .._parties import PartyRegistry
from ..verification._policy import Policy
from ..verification._trust import TrustPolicy
from ._catalog import builtin_workflow, builtin_workflows
from ._engine import Authorities, WorkflowEntry, WorkflowSession
from ._model import Workflow, WorkflowError

#: The workflow a job runs when none is named.
DEFAULT_WORKFLOW = "ipr"


def policy_with_workflow(policy: Policy, workflow: Workflow) -> Policy:
    """``policy`` naming ``workflow`` (its name, version, digest and, for a workflow that is not shipped, its
    document): the policy digest then covers the workflow, so results under one workflow are never reused for
    another."""
    raw = dict(policy.raw)
    shipped = builtin_workflows().get(workflow.name)
    ref: dict[str, Any] = {"name": workflow.name, "version": workflow.version, "digest": workflow.digest}
    if shipped is None or shipped.digest != workflow.digest:
        ref["document"] = _document(workflow)
    raw["workflow"] = ref
    return Policy.from_mapping(raw, source=f"{policy.name} + workflow {workflow.label}")


def _document(workflow: Workflow) -> str:
    from pathlib import Path

    if workflow.source and Path(workflow.source).is_file():
        return Path(workflow.source).read_text(encoding="utf-8")
    raise WorkflowError(f"workflow {workflow.label} has no file to embed in the job's policy")


def workflow_of(policy: Policy) -> Workflow:
    """The workflow ``policy`` names (the shipped ``ipr`` when it names none); raises :class:`WorkflowError` when a
    named shipped workflow's digest is not the installed one's (the job was made by another vcgate version)."""
    ref = policy.raw.get("workflow")
    if not isinstance(ref, dict):
        return builtin_workflow(DEFAULT_WORKFLOW)
    if isinstance(ref.get("document"), str):
        wf = Workflow.from_yaml(ref["document"], source=f"policy {policy.name}")
    else:
        wf = builtin_workflow(str(ref.get("name")))
    if ref.get("digest") not in (None, wf.digest):
        raise WorkflowError(
            f"the job names workflow {ref.get('name')} with digest {ref.get('digest')}, this installation has "
            f"{wf.digest}; run the job with the vcgate version that created it"
        )
    return wf


def workflow_entry(entry: Entry) -> WorkflowEntry:
    """The engine's view of a jobs entry: ``entry`` fields and one mapping per line (null where absent)."""
    fields = {
        "number": entry.entry_number,
        "date": entry.entry_date,
        "importerNumber": entry.importer_number,
        "importerDid": entry.importer_did,
        "invoiceNumber": entry.invoice_number,
        "invoiceId": entry.invoice_id,
        "invoiceDigest": entry.invoice_digest,
        "credentialId": entry.credential_id,
    }
    lines = tuple(
        {
            "line": ln.line,
            "gtin": ln.gtin,
            "quantity": ln.quantity,
            "manufacturerId": ln.manufacturer_id,
            "value": ln.value,
        }
        for ln in entry.lines
    )
    return WorkflowEntry(entry.key, entry.entry_number, entry.entry_date, fields, lines)


def authorities(trust: TrustPolicy) -> Authorities:
    """The policy's roots of authority by claim kind."""
    roots = dict(trust.roots)
    roots.setdefault("gtin_ownership", trust.gtin_authorities)
    roots.setdefault("ipr_ownership", trust.ipr_authorities)
    return Authorities(roots)


def session(workflow: Workflow, graph: CredentialGraph, parties: PartyRegistry, trust: TrustPolicy) -> WorkflowSession:
    """A session of ``workflow`` over ``graph`` under ``trust``."""
    return WorkflowSession(workflow, graph, parties, authorities=authorities(trust), territory=trust.territory)


def decide_entry(
    entry: Entry,
    graph: CredentialGraph,
    parties: PartyRegistry,
    trust: TrustPolicy,
    *,
    checked_at: datetime,
    prior_claims: PriorClaims | None = None,
    workflow: Workflow | None = None,
    run: WorkflowSession | None = None,
) -> EntryVerdict:
    """The verdict on ``entry`` under ``workflow`` (default: the shipped ``ipr``). Pure.

    ``prior_claims`` maps (invoice number, GTIN) to the units other entries claimed before this one, by claiming
    importer (the ``quantity`` step's key and claimant); pass ``run`` to reuse one session (views, index) over many
    entries of one graph.
    """
    wf = workflow or (run.workflow if run is not None else builtin_workflow(DEFAULT_WORKFLOW))
    s = run or session(wf, graph, parties, trust)
    prior: dict[tuple[str, ...], dict[str | None, Decimal]] = {
        ("quantity", inv, gtin): {who: Decimal(n) for who, n in by_importer.items()}
        for (inv, gtin), by_importer in (prior_claims or {}).items()
    }
    return s.run(
        workflow_entry(entry),
        checked_at=checked_at,
        prior=prior,
        policy=trust.policy_name,
        policy_digest=trust.policy_digest,
    )


#: The short name used inside the package.
decide = decide_entry
