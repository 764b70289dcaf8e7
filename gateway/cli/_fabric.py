"""``vcgate fabric verify-block``: decode and verify Fabric blocks offline — a thin shell over
:mod:`vcgate.adapters.fabric`.

Files are single serialized blocks or a peer's ``blockfile_NNNNNN``; they are verified in the order given,
replaying configuration and chaincode definitions. The trust anchor is ``--config`` (a config block, ideally the
channel's genesis block) or else the first sound config block. Exit codes: 0 no check failed, 1 a check failed, a
file is not a sound block (truncated, corrupt) or the ``--config`` block's data does not match its header, 2 some
check could not be decided (no anchor, unsupported MSP) or a block file is missing or unreadable, 64 usage.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from vcgate.adapters.fabric import (
    Block,
    BlockResult,
    FabricAnchorError,
    FabricDecodeError,
    check_blocks,
    read_blocks,
)

from ._common import EXIT_ERROR, EXIT_INVALID, EXIT_OK, EXIT_USAGE, fitted_table, unreadable

fabric_app = typer.Typer(no_args_is_help=True, help="Hyperledger Fabric blocks: decode and verify offline.")

# Wide enough for the transaction table when output is piped (rich assumes 80 columns then).
# Piped output is wide (180) unless COLUMNS says otherwise; a terminal's own width otherwise.
_out = Console(emoji=False, highlight=False, width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 180)
_err = Console(stderr=True, emoji=False, highlight=False)
_STYLE = {"passed": "green", "failed": "red", "error": "yellow", "not_applicable": "dim"}


def _exit_usage(message: str) -> NoReturn:
    _err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(EXIT_USAGE)


def _load(path: Path) -> list[Block]:
    if not path.is_file():
        unreadable(path, "no such file")
    try:
        return read_blocks(path)
    except OSError as exc:
        unreadable(path, exc.strerror)
    except FabricDecodeError as exc:
        _err.print(f"[red]{exc.problem.code}[/red] {path}: {exc.problem.title}: {exc.problem.detail}")
        raise typer.Exit(EXIT_INVALID) from None


def _writes(ns_keys: tuple[tuple[str, tuple[str, ...]], ...], limit: int = 4) -> str:
    parts = []
    for ns, keys in ns_keys:
        shown = [k.encode("unicode_escape").decode("ascii") for k in keys[:limit]]
        more = f" +{len(keys) - limit}" if len(keys) > limit else ""
        parts.append(f"{ns}:{','.join(shown)}{more}")
    return " ".join(parts)


_SHORT = {
    "creator_signature": "creator sig",
    "tx_id": "tx id",
    "certificate_chain": "cert chain",
    "endorsement_signatures": "endorse sigs",
    "proposal_hash": "proposal hash",
    "endorsement_policy": "endorse policy",
}


def _render(results: list[BlockResult]) -> None:
    for r in results:
        colour = {"verified": "green", "invalid": "red", "error": "yellow"}[r.status]
        _out.print(
            f"[bold]block {r.number}[/bold] [{colour}]{r.status.upper()}[/]  channel={r.channel_id or '-'}  "
            f"ledger={r.ledger_id or '-'}  hash={r.block_hash}"
        )
        _out.print("  " + "  ".join(f"{c.name}=[{_STYLE[c.status]}]{c.status}[/]" for c in r.checks))
        if r.config is not None:
            cfg = r.config
            consensus = cfg.orderer.consensus_type if cfg.orderer else "-"
            _out.print(f"  config seq={cfg.sequence} msps={', '.join(cfg.msp_ids)} consensus={consensus}")
        facts, checks = [], []
        for t in r.transactions:
            code = t.validation_code or "-"
            if t.validation_code:
                code += " (attested)" if t.validation_code_attested else " (recorded)"
            private = _writes(t.private_writes)
            facts.append(
                (
                    str(t.index),
                    t.tx_id or "-",
                    f"{t.chaincode}.{t.function}" if t.chaincode else "-",
                    code,
                    t.type,
                    t.creator_msp or "-",
                    ",".join(t.endorser_msps) or "-",
                    " ".join(x for x in (_writes(t.writes), f"pvt {private}" if private else "") if x) or "-",
                    t.event_name or "-",
                )
            )
            checks.append((str(t.index), *(f"[{_STYLE[c.status]}]{c.status}[/]" for c in t.checks)))
        # Identifiers are never wrapped (copy-paste): number, tx id, chaincode.function, validation code; the rest
        # (free text such as the writes) folds, or stacks under them when the terminal is narrow.
        headers = ("#", "tx id", "chaincode.function", "code", "type", "creator", "endorsers", "writes", "event")
        _out.print(fitted_table(headers, facts, ids=4, width=_out.width))
        _out.print(fitted_table(("#", *_SHORT.values()), checks, width=_out.width))
        for c in r.checks:
            if c.problem is not None:
                _out.print(f"  [{_STYLE[c.status]}]{c.name}[/]: {c.problem.code} — {c.problem.detail}")
        for t in r.transactions:
            for c in t.checks:
                if c.problem is not None:
                    _out.print(f"  tx {t.index} [{_STYLE[c.status]}]{c.name}[/]: {c.problem.code} — {c.problem.detail}")


@fabric_app.command("verify-block")
def verify_block(
    files: Annotated[list[Path], typer.Argument(help="Block files or peer blockfile_NNNNNN files, in chain order.")],
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Trust anchor: the channel's genesis block or a later config block."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of blocks with their checks.")] = False,
) -> None:
    """Decode and verify Fabric blocks offline. Exit 0 no check failed, 1 a check failed, 2 undecided,
    64 usage."""
    anchor = None
    if config is not None:
        anchors = _load(config)
        if len(anchors) != 1:
            _exit_usage(f"--config {config} must hold exactly one block")
        anchor = anchors[0]
    blocks = [b for f in files for b in _load(f)]
    try:
        results = check_blocks(blocks, config_block=anchor)
    except FabricAnchorError as exc:
        if exc.problem is None:
            _exit_usage(str(exc))
        # A forged anchor (real header, other data) is a failed check, not a usage error.
        _err.print(f"[red]{exc.problem.code}[/red] {config}: {exc.problem.title}: {exc.problem.detail}")
        raise typer.Exit(EXIT_INVALID) from None
    if as_json:
        sys.stdout.write(json.dumps([r.to_json() for r in results], indent=2, ensure_ascii=False) + "\n")
    else:
        _render(results)
    statuses = {r.status for r in results}
    if "invalid" in statuses:
        raise typer.Exit(EXIT_INVALID)
    raise typer.Exit(EXIT_ERROR if "error" in statuses else EXIT_OK)
