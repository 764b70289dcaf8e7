"""``vcgate evidence check FILE``: check one credential's ledger evidence offline, for every ledger kind.

Each ``LedgerEvidence`` item names its ``ledgerKind``; the command finds the installed adapter of that kind through
the ``vcgate.adapters`` entry points and runs its offline evidence checker against the anchor pinned for the item's
``ledgerId`` in ``--anchors``. Nothing is fetched: a ledger without a pinned anchor gives ``error``.

Anchors file (YAML or JSON), keyed by ledger id, each value the adapter's anchor (the same shape as the trust
policy's ``trust.anchors``; a policy file works as is)::

    eip155:1:
      kind: ethereum
      checkpoints: {21000000: "0x…"}
      finalityDepth: 0

Every built-in ledger kind (ethereum, fabric, plain-ledger) is checked offline without ``--config``
(gateway/_evidence_checkers.py); a third-party adapter builds its checker from a class-level
``offline_evidence_checker()`` when it has one, otherwise from ``--config`` (the adapter's configuration file).
Exit codes as ``vcgate verify``: 0 verified, 1 invalid, 2 error (no anchor, no adapter for the ledger kind, the
checker could not decide), 64 usage.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console

from vcgate.adapters.sdk import (
    EVIDENCE_TYPE,
    AdapterConfigError,
    AdapterLoadError,
    AdapterPlugin,
    Check,
    CheckStatus,
    EvidenceChecker,
    EvidenceResult,
    load_adapter_config,
    scan_adapters,
)
from vcgate.canonical_schema import Problem, VcgateError, json_pointer

from .._evidence_checkers import offline_checker_for
from ..verification._policy import Policy
from ..verification._verify import parse_json_strictly
from ._common import EXIT_ERROR, EXIT_INVALID, EXIT_OK, fitted_table, require_file, unreadable
from ._common import fail as _fail
from ._common import instant_or_now as _instant
from ._common import usage_error as _usage

evidence_app = typer.Typer(no_args_is_help=True, help="Ledger evidence carried by credentials.")

_out = Console(emoji=False, highlight=False)
_err = Console(stderr=True, emoji=False, highlight=False)


def load_anchors(path: Path) -> dict[str, Mapping[str, Any]]:
    """Read an anchors file: ``{<ledger id>: <anchor>}``, or a document with ``anchors:`` or ``trust: anchors:``
    (a policy file). Raises ``ValueError`` with a message for the user."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read anchors file {path}: {exc}") from None
    if isinstance(document, dict) and isinstance(document.get("trust"), dict):
        document = document["trust"].get("anchors") or {}
    elif isinstance(document, dict) and isinstance(document.get("anchors"), dict):
        document = document["anchors"]
    if document is None:
        return {}
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        raise ValueError(f"anchors file {path} must map ledger ids to anchor objects")
    return {str(k): v for k, v in document.items()}


def _checker_for(kind: str, plugins: list[AdapterPlugin], config: Path | None) -> EvidenceChecker | str:
    """The evidence checker of the adapter of ``kind``, or a reason why there is none."""
    # The remote adapter is a client for a partner's service: its checks are advisory (docs/remote-adapters.md), so
    # evidence is never routed to it, whatever kind the evidence claims.
    candidates = [p for p in plugins if p.kind == kind and p.kind != "remote"]
    if not candidates:
        return f"no installed adapter checks {kind!r} evidence (installed kinds: {sorted({p.kind for p in plugins})})"
    plugin = candidates[0]
    if config is None:
        try:
            offline = offline_checker_for(plugin)
        except (ImportError, VcgateError) as exc:
            return f"adapter {plugin.name!r} has no offline evidence checker: {exc}"
        if offline is not None:
            return offline
        return f"adapter {plugin.name!r} builds its evidence checker from its configuration; pass --config"
    try:
        return plugin.create(load_adapter_config(config)).evidence_checker()
    except (AdapterConfigError, AdapterLoadError, VcgateError) as exc:
        return f"adapter {plugin.name!r}: {exc}"


def _error_result(name: str, code: str, detail: str, pointer: str) -> EvidenceResult:
    return EvidenceResult((Check(name, CheckStatus.ERROR, (Problem(code, "Evidence not checked", detail, pointer),)),))


def _worst(statuses: list[str]) -> str:
    if "invalid" in statuses:
        return "invalid"
    if "error" in statuses or not statuses:
        return "error"
    return "verified"


@evidence_app.command("check")
def check_evidence_command(
    file: Annotated[str, typer.Argument(help="Credential (JSON) carrying LedgerEvidence; - for stdin.")],
    anchors: Annotated[
        Path | None, typer.Option("--anchors", help="Anchors per ledger id (YAML/JSON; a policy file works).")
    ] = None,
    at: Annotated[str | None, typer.Option(help="Check as of this instant (ISO-8601; default now).")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Adapter configuration, for adapters that need one to check.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Check a credential's ledger evidence offline. Exit 0 verified, 1 invalid, 2 error, 64 usage."""
    require_file(anchors, "anchors file")
    instant = _instant(at)
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        unreadable(file, exc.strerror)
    # Hostile input: size and nesting are bounded before parsing (CPython's JSON decoder recurses).
    limits = Policy.default()
    credential, parsed = parse_json_strictly(
        data, max_bytes=limits.max_credential_bytes, max_depth=limits.max_json_depth
    )
    if parsed.problem is not None and parsed.problem.code == "MALFORMED_JSON":
        _usage(f"{file} is not JSON: {parsed.problem.detail}")
    if parsed.problem is not None:
        _fail(f"{file} refused: {parsed.problem.code}: {parsed.problem.detail}", EXIT_INVALID)
    if not isinstance(credential, dict):
        _usage(f"{file} must hold a JSON object (a credential)")
    try:
        pinned = load_anchors(anchors) if anchors is not None else {}
    except ValueError as exc:
        _usage(str(exc))
    if config is not None and not config.is_file():
        unreadable(f"adapter configuration {config}", "no such file")

    items = credential.get("evidence")
    items = [items] if isinstance(items, dict) else items if isinstance(items, list) else []
    ledger_items = [
        (i, e)
        for i, e in enumerate(items)
        if isinstance(e, dict) and (e.get("type") == EVIDENCE_TYPE or EVIDENCE_TYPE in (e.get("type") or []))
    ]
    results: list[dict[str, Any]] = []
    if not ledger_items:
        missing = EvidenceResult(
            (
                Check(
                    "evidence.present",
                    CheckStatus.FAILED,
                    (Problem("EVIDENCE_MISSING", "No ledger evidence", "the credential carries no LedgerEvidence"),),
                ),
            )
        )
        results.append({"pointer": "/evidence", "ledgerId": None, "ledgerKind": None, **_result_json(missing)})
    plugins = list(scan_adapters().plugins) if ledger_items else []
    for index, item in ledger_items:
        pointer = json_pointer("evidence", index)
        kind, ledger = item.get("ledgerKind"), item.get("ledgerId")
        if not isinstance(kind, str) or not isinstance(ledger, str):
            result = EvidenceResult(
                (
                    Check(
                        "evidence.shape",
                        CheckStatus.FAILED,
                        (Problem("EVIDENCE_MALFORMED", "Malformed evidence", "no ledgerKind/ledgerId", pointer),),
                    ),
                )
            )
        else:
            checker = _checker_for(kind, plugins, config)
            if isinstance(checker, str):
                result = _error_result("evidence.adapter", "ADAPTER_MISSING", checker, pointer)
            else:
                anchor = pinned.get(ledger) or {}
                try:
                    result = checker.check(credential, item, anchor, at=instant)
                except Exception as exc:  # a plugin's checker must not raise; report it as undecided
                    result = _error_result(
                        "evidence.checker", "EVIDENCE_CHECKER_FAILED", f"{type(exc).__name__}: {exc}", pointer
                    )
        results.append({"pointer": pointer, "ledgerId": ledger, "ledgerKind": kind, **_result_json(result)})

    status = _worst([r["status"] for r in results])
    if as_json:
        out = {"status": status, "checkedAt": instant.isoformat().replace("+00:00", "Z"), "evidence": results}
        sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    else:
        colour = {"verified": "green", "invalid": "red", "error": "yellow"}[status]
        _out.print(f"[bold {colour}]{status.upper()}[/] {file}")
        for r in results:
            rows = [
                (
                    c["name"],
                    c["status"],
                    "; ".join(f"{p['code']}: {p.get('detail', '')}" for p in c.get("problems", [])),
                )
                for c in r["checks"]
            ]
            title = f"{r['pointer']} {r['ledgerKind'] or ''} {r['ledgerId'] or ''}"
            _out.print(fitted_table(("check", "status", "problem"), rows, ids=2, title=title))
    raise typer.Exit({"verified": EXIT_OK, "invalid": EXIT_INVALID, "error": EXIT_ERROR}[status])


def _result_json(result: EvidenceResult) -> dict[str, Any]:
    return result.to_json()
