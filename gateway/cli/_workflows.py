"""``vcgate workflows``: the shipped verification workflows, what one says, and whether a file is a workflow
(docs/workflows.md). Exit codes: 0 fine, 1 the file is not a valid workflow (line and expression printed), 2 the file is
missing or unreadable, 64 usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ._common import EXIT_INVALID, fail, fitted_table, print_json, require_file

workflows_app = typer.Typer(
    no_args_is_help=True, help="Verification workflows (IPR, steel, natural gas, timber, food)."
)
out = Console(emoji=False, highlight=False)


def _load(name_or_path: str) -> Any:
    from ..workflows import WorkflowError, load_workflow

    if "/" in name_or_path or name_or_path.endswith((".yaml", ".yml")):
        require_file(name_or_path)
    try:
        return load_workflow(name_or_path)
    except WorkflowError as exc:
        fail(str(exc), EXIT_INVALID)


@workflows_app.command("list")
def list_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The shipped workflows: name, version, digest, title and the credential types each uses."""
    from ..workflows import builtin_workflows

    items = [wf.summary() for wf in builtin_workflows().values()]
    if as_json:
        print_json(items)
        return
    rows = [
        (item["name"], "\n".join(item["credentialTypes"]), item["version"], item["digest"][:19] + "…", item["title"])
        for item in items
    ]
    # The credential types are identifiers too (never folded): beside the name, the rest folds or stacks.
    out.print(fitted_table(("workflow", "credential types", "version", "digest", "title"), rows, ids=2))


@workflows_app.command("describe")
def describe_command(
    name: Annotated[str, typer.Argument(help="A shipped workflow's name, or a workflow file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Each step of a workflow: its rules, the reason code each failure gives, what it makes the line, the clause."""
    wf = _load(name)
    doc = wf.describe()
    if as_json:
        print_json(doc)
        return
    out.print(f"[bold]{doc['name']}[/bold] {doc['version']}  {doc['digest']}")
    out.print(doc["title"])
    out.print(doc["description"], style="dim")
    rows: list[tuple[str, ...]] = []
    for step in doc["steps"]:
        first = True
        for rule in step["rules"]:
            for check in rule["checks"]:
                rows.append(
                    (
                        step["name"] if first else "",
                        step["kind"] if first else "",
                        rule["name"],
                        check["reason"],
                        check["failure"],
                        check["clause"],
                    )
                )
                first = False
        if "missing" in step:
            rows.append(
                (
                    step["name"] if first else "",
                    step["kind"] if first else "",
                    "(none found)",
                    step["missing"]["reason"],
                    "not_authorized",
                    step["missing"]["clause"],
                )
            )
            first = False
        if "reconcile" in step:
            r = step["reconcile"]
            rows.append(
                (
                    step["name"] if first else "",
                    step["kind"] if first else "",
                    f"{r['claimed']} ≤ {r['against']} ({r['mode']})",
                    r["reason"],
                    "not_authorized",
                    r["clause"],
                )
            )
    headers = ("step", "kind", "rule", "reason if it fails", "line becomes", "clause")
    out.print(fitted_table(headers, rows))
    out.print(f"authorized: {doc['authorized']['reason']} ({doc['authorized']['clause']})")


@workflows_app.command("validate")
def validate_command(
    path: Annotated[Path, typer.Argument(help="The workflow file to check.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Parse a workflow file and compile every expression; a fault is reported with its line and expression."""
    from ..workflows import Workflow, WorkflowError

    require_file(path)
    try:
        wf = Workflow.from_file(path)
    except WorkflowError as exc:
        if as_json:
            print_json(
                {"valid": False, "file": str(path), "line": exc.line, "expression": exc.expression, "error": exc.reason}
            )
            raise typer.Exit(EXIT_INVALID) from None
        fail(str(exc), EXIT_INVALID)
    if as_json:
        print_json({"valid": True, "file": str(path), **wf.summary()})
        return
    out.print(f"{path}: valid workflow {wf.label} ({len(wf.steps)} steps), digest {wf.digest}")
