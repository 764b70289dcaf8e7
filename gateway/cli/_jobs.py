"""``vcgate parties | sync | verify-entry | jobs | links``: a thin shell over parties, store, jobs and reports.

The store is ``--db URL`` (or ``$VCGATE_DATABASE_URL``, default ``sqlite:///vcgate.sqlite``). Exit codes:
``verify-entry`` 0 authorized, 1 not authorized, 2 undetermined; other commands 0 success, 1 refused input, 2 error,
64 usage. ``--checkers MODULE:FUNCTION`` adds evidence checkers (``{ledger kind: EvidenceChecker}``) for ledgers
whose adapter is not installed as a plugin.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from vcgate.canonical_schema import VcgateError

from .._jobs import (
    Executor,
    InlineExecutor,
    JobError,
    JobSummary,
    LocalProcessExecutor,
    VerificationEnvironment,
    _load_factory,
    create_job,
    default_job_id,
    entry_for_credential,
    job_results,
    job_status,
    read_entry_file,
    run_job,
    sync,
)
from .._links import MAX_ROW_BYTES, MAX_ROW_DEPTH, EntryError, parse_entry, prior_claims
from .._parties import Party, check_binding_proof
from .._reports import build_report, render_html, sign_report
from .._store import Store
from ..verification._dids import DidResolver
from ..verification._keys import KeyPair
from ..verification._policy import Policy
from ..verification._verify import parse_json_strictly
from ._common import (
    EXIT_ERROR,
    EXIT_INVALID,
    EXIT_USAGE,
    fitted_table,
    require_database,
    require_file,
    require_policy,
    unreadable,
)
from ._common import fail as _fail
from ._common import parse_instant as _instant
from ._common import print_json as _print_json
from ._common import usage_error as _usage

VERDICT_EXIT = {"authorized": 0, "not_authorized": 1, "undetermined": 2}
COLOURS = {"authorized": "green", "not_authorized": "red", "undetermined": "yellow"}

parties_app = typer.Typer(no_args_is_help=True, help="The party registry: trade partners and their ledger identities.")
jobs_app = typer.Typer(no_args_is_help=True, help="Cross-chain verification jobs over many entries.")
out = Console(emoji=False, highlight=False, soft_wrap=True)
err = Console(stderr=True, emoji=False, highlight=False)

DbOption = Annotated[
    str | None, typer.Option("--db", envvar="VCGATE_DATABASE_URL", help="Store database URL (default: SQLite file).")
]
PolicyOption = Annotated[Path | None, typer.Option("--policy", help="Policy file (default: the shipped policy).")]
CheckersOption = Annotated[
    str | None, typer.Option("--checkers", help="MODULE:FUNCTION returning extra evidence checkers by ledger kind.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine output (JSON).")]


def _store(db: str | None, *, read_only: bool = False) -> Store:
    if read_only:
        require_database(db)
    try:
        return Store.open(db)
    except VcgateError as exc:
        _fail(str(exc))


def _policy(path: Path | None) -> Policy:
    require_policy(path)
    try:
        return Policy.load(path) if path else Policy.default()
    except VcgateError as exc:
        _usage(str(exc))


# -- parties ---------------------------------------------------------------------------------------------------


@parties_app.command("add")
def parties_add(
    file: Annotated[Path, typer.Argument(help="Party document (YAML or JSON): id, did, names, identifiers, bindings.")],
    db: DbOption = None,
    offline: Annotated[bool, typer.Option(help="Resolve only did:key/did:jwk for DID-document proofs.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Register or update a party; every binding's proof of control is checked first. Exit 1 if one fails."""
    try:
        party = Party.from_json(yaml.safe_load(file.read_text(encoding="utf-8")))
    except OSError as exc:
        unreadable(file, exc.strerror)
    except (yaml.YAMLError, VcgateError) as exc:
        _fail(str(exc), EXIT_INVALID)
    resolver = DidResolver.offline() if offline else DidResolver.default()
    checks = [check_binding_proof(party, b, resolver) for b in party.bindings]
    bad = [(b, c) for b, c in zip(party.bindings, checks, strict=True) if c.status != "passed"]
    if bad:
        for b, c in bad:
            problem = c.problem
            err.print(f"[red]binding {b.kind} {dict(b.match)}:[/red] {problem.code if problem else c.status}")
            if problem:
                err.print(f"  {problem.detail}")
        raise typer.Exit(EXIT_ERROR if all(c.status == "error" for _, c in bad) else EXIT_INVALID)
    store = _store(db)
    try:
        changed = store.put_party(party)
    except VcgateError as exc:
        _fail(str(exc), EXIT_INVALID)
    if as_json:
        _print_json({"party": party.to_json(), "changed": changed})
    else:
        out.print(
            f"{'registered' if changed else 'unchanged'}: {party.id} ({party.did}), {len(party.bindings)} bindings"
        )


@parties_app.command("list")
def parties_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List registered parties."""
    registry = _store(db, read_only=True).parties()
    if as_json:
        _print_json([p.to_json() for p in registry.parties])
        return
    rows = [
        (
            p.id,
            p.did,
            "; ".join(p.names),
            ", ".join(f"{i.scheme}:{i.value}" for i in p.identifiers),
            str(len(p.bindings)),
        )
        for p in registry.parties
    ]
    out.print(fitted_table(("id", "did", "names", "identifiers", "bindings"), rows, ids=2))


@parties_app.command("show")
def parties_show(
    party_id: Annotated[str, typer.Argument(help="Party id.")],
    db: DbOption = None,
    challenge: Annotated[bool, typer.Option(help="Print each binding's challenge text (what to sign).")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show one party with its identifiers and binding history."""
    from .._parties import binding_challenge

    party = _store(db, read_only=True).parties().get(party_id)
    if party is None:
        _fail(f"no party {party_id!r}", EXIT_INVALID)
    if as_json:
        doc = party.to_json()
        if challenge:
            doc["challenges"] = [binding_challenge(party.did, b).decode() for b in party.bindings]
        _print_json(doc)
        return
    out.print(f"[bold]{party.id}[/bold]  {party.did}  {'; '.join(party.names)}")
    for i in party.identifiers:
        out.print(f"  {i.scheme}: {i.value}")
    rows = [
        (
            b.kind,
            ", ".join(f"{k}={v}" for k, v in b.match.items()),
            b.valid_from.isoformat(),
            b.valid_until.isoformat() if b.valid_until else "open",
            b.proof.method,
        )
        for b in party.bindings
    ]
    out.print(fitted_table(("kind", "identity", "valid from", "valid until", "proof"), rows, ids=2))
    if challenge:
        for b in party.bindings:
            out.print(binding_challenge(party.did, b).decode())


@parties_app.command("bind")
def parties_bind(
    party_did: Annotated[str, typer.Argument(help="The registered party's DID (or id).")],
    ledger_id: Annotated[str, typer.Option("--ledger-id", help="Ledger id: eip155:…, fabric:…, plain:….")],
    identity: Annotated[
        str, typer.Option("--identity", help="Account address (eip155), MSP id (fabric) or publicKeyMultibase.")
    ],
    certificate: Annotated[
        Path | None, typer.Option("--certificate", help="Fabric: the identity's certificate (PEM file).")
    ] = None,
    valid_from: Annotated[
        str | None, typer.Option("--valid-from", help="Start of the binding (default now; repeat it when signing).")
    ] = None,
    nonce: Annotated[str | None, typer.Option("--nonce", help="Challenge nonce (default random; repeat it).")] = None,
    signature: Annotated[
        str | None,
        typer.Option(
            "--signature",
            help="The signed challenge: EIP-191 personal_sign (0x hex), a compact JWS, or Fabric DER ECDSA (0x hex).",
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Bind a ledger identity to a party by a signed challenge.

    Without --signature: print the challenge to sign and the command that
    completes the binding. With --signature (and the same --valid-from and
    --nonce): check the proof of control and add the binding to the party.
    Exit 0 bound (or challenge printed), 1 the proof fails, 64 usage.
    """
    import secrets

    from .._parties import binding_challenge, binding_for_ledger, nonce_from_bytes

    store = _store(db)
    registry = store.parties()
    party = registry.get(party_did) or registry.party_for_did(party_did)
    if party is None:
        _fail(f"no registered party {party_did!r}; register it first (`vcgate parties add FILE`)", EXIT_INVALID)
    start = _instant(valid_from, "--valid-from") or datetime.now(UTC).replace(microsecond=0)
    chosen_nonce = nonce or nonce_from_bytes(secrets.token_bytes(16))
    try:
        pem = certificate.read_text(encoding="ascii") if certificate is not None else None
    except OSError as exc:
        unreadable(f"--certificate {certificate}", exc.strerror)
    except UnicodeDecodeError as exc:
        _usage(f"cannot read --certificate {certificate}: {exc}")
    try:
        binding = binding_for_ledger(
            ledger_id,
            identity,
            valid_from=start,
            nonce=chosen_nonce,
            certificate_pem=pem,
            signature=_signature_text(signature) if signature is not None else None,
        )
    except VcgateError as exc:
        _usage(str(exc))
    challenge = binding_challenge(party.did, binding).decode("utf-8")
    if signature is None:
        stamp = start.isoformat().replace("+00:00", "Z")
        again = (
            f"vcgate parties bind {party.did} --ledger-id {ledger_id} --identity {identity} --valid-from {stamp} "
            f"--nonce {chosen_nonce}" + (f" --certificate {certificate}" if certificate else "") + " --signature SIG"
        )
        if as_json:
            _print_json({"party": party.id, "challenge": challenge, "binding": binding.to_json(), "complete": again})
        else:
            out.print("sign these exact bytes (UTF-8, no trailing newline):\n")
            typer.echo(challenge)
            out.print(f"\nthen run:\n  {again}")
        return
    check = check_binding_proof(party, binding)
    if check.status != "passed":
        problem = check.problem
        _fail(f"{problem.code}: {problem.detail}" if problem else check.status, EXIT_INVALID)
    updated = Party.from_json(
        {**party.to_json(), "bindings": [*(b.to_json() for b in party.bindings), binding.to_json()]}
    )
    try:
        changed = store.put_party(updated)
    except VcgateError as exc:
        _fail(str(exc), EXIT_INVALID)
    if as_json:
        _print_json({"party": party.id, "binding": binding.to_json(), "changed": changed})
    else:
        out.print(f"bound {binding.kind} {dict(binding.match)} to {party.id} from {binding.to_json()['validFrom']}")


def _signature_text(value: str) -> str:
    """base64url of a hex signature (EIP-191, DER ECDSA); a compact JWS or base64url text as given."""
    import binascii
    import re

    from vcgate.canonical_schema import b64url

    if value.count(".") == 2 or not re.fullmatch(r"0x[0-9a-fA-F]+", value):
        return value
    try:
        return b64url(binascii.unhexlify(value[2:]))
    except binascii.Error:
        _usage("--signature: odd-length hex")


# -- sync ------------------------------------------------------------------------------------------------------


def sync_command(
    db: DbOption = None,
    follow: Annotated[bool, typer.Option("--follow", help="Keep syncing every --interval seconds.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between passes with --follow.")] = 10.0,
    witness_key: Annotated[
        Path | None,
        typer.Option(help="Gateway key that signs witness-mode translations (its DID is the adapters' witness)."),
    ] = None,
    policy: PolicyOption = None,
    checkers: CheckersOption = None,
    retry_quarantined: Annotated[
        bool, typer.Option("--retry-quarantined", help="Try quarantined records again first (after a fix).")
    ] = False,
    adapter: Annotated[
        list[str] | None, typer.Option("--adapter", "-a", help="Sync only this registered adapter (repeatable).")
    ] = None,
    witness_suite: Annotated[
        str, typer.Option("--witness-suite", help="Cryptosuite of witness signatures.")
    ] = "eddsa-rdfc-2022",
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Verify what was stored (warms the result cache).")
    ] = True,
    cluster: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler (tcp://HOST:8786) or 'local': one task per adapter, one writer per cursor (a "
            "lease) whose records are translated and signed on every worker; default $VCGATE_DASK_SCHEDULER, else "
            "in this process. --witness-key must exist on the workers (docs/scale-out.md)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Pull new records from every registered adapter, verify and store them (idempotent).

    A record that cannot be translated, mapped or signed is quarantined with its reason and the pass moves on
    (`vcgate adapters status` lists them; --retry-quarantined tries them again). Exit 0 when everything was
    stored, 1 when anything was quarantined (or is still) or an adapter's ledger failed, 64 usage.
    """
    store = _store(db)
    key = None
    require_file(witness_key, "--witness-key")
    if witness_key is not None:
        try:
            key = KeyPair.from_file(witness_key)
        except VcgateError as exc:
            _usage(str(exc))
    pol = _policy(policy)
    from ..verification._proofs import SUITES

    if witness_suite not in SUITES:
        _usage(f"unknown --witness-suite {witness_suite!r}; choose one of {', '.join(SUITES)}")
    extra = dict(_load_factory(checkers)()) if checkers else None
    known = {r.name for r in store.adapters()}
    unknown = sorted(set(adapter or ()) - known)
    if unknown:
        _usage(f"no registered adapter {', '.join(unknown)}; `vcgate adapters status` lists them")
    from .._cluster import ClusterError, scheduler_address, sync_on_cluster
    from .._sync import SyncReport

    try:
        address = scheduler_address(cluster)
    except ClusterError as exc:
        _usage(str(exc))
    while True:
        if address is not None:
            try:
                counts = sync_on_cluster(
                    store.url,
                    sorted(adapter or known),
                    address=address,
                    now=datetime.now(UTC),
                    witness_key_path=str(witness_key) if witness_key else None,
                    policy=dict(pol.raw) if verify else None,
                    checker_factory=checkers,
                    retry_quarantined=retry_quarantined,
                    witness_suite=witness_suite,
                )
            except VcgateError as exc:
                _fail(str(exc))
            report = SyncReport(counts)
        else:
            report = sync(
                store,
                now=datetime.now(UTC),
                witness_key=key,
                policy=pol if verify else None,
                checkers=extra,
                retry_quarantined=retry_quarantined,
                only=adapter or None,
                witness_suite=witness_suite,
            )
        if as_json:
            _print_json(report.to_json())
        else:
            _print_sync(report.to_json())
        if not follow:
            break
        retry_quarantined = False
        time.sleep(interval)
    raise typer.Exit(EXIT_INVALID if report.failed else 0)


def _print_sync(report: dict[str, Any]) -> None:
    for name, counts in report["adapters"].items():
        out.print(
            f"{name}: stored {counts.get('stored', 0)}, unchanged {counts.get('unchanged', 0)}, revocations "
            f"{counts.get('revocations', 0)}, quarantined {counts.get('quarantined', 0)}, released "
            f"{counts.get('released', 0)}, in quarantine {counts.get('inQuarantine', 0)}"
        )
        for q in counts.get("quarantine", ()):
            err.print(f"  [yellow]quarantined[/yellow] {q['locator']}: {q['code']}: {q['reason']}")
        for e in counts.get("errors", ()):
            err.print(f"  [red]error:[/red] {e}")
    if not report["adapters"]:
        out.print("no adapters registered (`vcgate adapters add`)")
        return
    s = report["summary"]
    out.print(
        f"summary: stored {s['stored']}, quarantined {s['quarantined']} (in quarantine {s['inQuarantine']}), "
        f"errors {s['errors']}" + ("" if s["ok"] else " — see `vcgate adapters status`")
    )


# -- verify-entry ----------------------------------------------------------------------------------------------


def _print_verdict(result: dict[str, Any]) -> None:
    v = result["verdict"]
    out.print(f"[bold {COLOURS[v]}]{v.upper()}[/] entry {result['entryNumber']} (policy {result['policy']})")
    rows = [
        (
            str(ln["line"]),
            ln["gtin"],
            str(ln["quantity"]),
            f"[{COLOURS[ln['verdict']]}]{ln['verdict']}[/]",
            ", ".join(ln["reasons"]),
            ln["clause"],
        )
        for ln in result["lines"]
    ]
    out.print(fitted_table(("line", "gtin", "qty", "verdict", "reasons", "decided by"), rows, ids=2))
    for ln in result["lines"]:
        for r in ln["reasonDetails"]:
            if r["kind"] != "pass":
                out.print(f"line {ln['line']}: {r['code']} [{r['step']}; {r['clause']}] {r['detail']}")


def verify_entry_command(
    entry: Annotated[str, typer.Argument(help="Entry: a JSON row file, an entry credential file, or a stored id.")],
    policy: PolicyOption = None,
    db: DbOption = None,
    checked_at: Annotated[str | None, typer.Option(help="Check instant (ISO-8601; default now).")] = None,
    checkers: CheckersOption = None,
    offline: Annotated[bool, typer.Option(help="Resolve only did:key/did:jwk.")] = True,
    record_claims: Annotated[
        bool, typer.Option(help="Register the entry's invoice claims (as a job does) before deciding.")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Verify one entry. Exit 0 authorized, 1 not authorized or a refused entry, 2 undetermined, 64 usage."""
    store = _store(db)
    pol = _policy(policy)
    at = _instant(checked_at, "--checked-at") or datetime.now(UTC)
    path = Path(entry)
    if path.exists():
        try:
            data = path.read_bytes()
        except OSError as exc:
            _fail(f"cannot read entry {entry}: {exc.strerror}", EXIT_USAGE)
        value, parsed_json = parse_json_strictly(data, max_bytes=MAX_ROW_BYTES, max_depth=MAX_ROW_DEPTH)
        if parsed_json.status != "passed" and parsed_json.problem is not None:
            p = parsed_json.problem
            _fail(f"entry {entry} refused: {p.code}: {p.detail}", EXIT_INVALID)
        try:
            if isinstance(value, dict) and "credentialSubject" in value:
                parsed = entry_for_credential(store, value)
                store.put_credential(value, source="verify-entry")
            else:
                parsed = parse_entry(value)
        except EntryError as exc:
            _fail(f"entry {entry} refused: {exc.problem.code} at {exc.problem.pointer or '/'}: {exc}", EXIT_INVALID)
        except JobError as exc:
            _fail(f"entry {entry} refused: {exc}", EXIT_INVALID)
    elif "://" not in entry and not entry.startswith("urn:") and ("/" in entry or entry.endswith(".json")):
        unreadable(entry, "no such file")  # a file name, not a stored credential id: a missing input file
    else:
        try:
            parsed = entry_for_credential(store, entry)
        except (EntryError, JobError) as exc:
            _fail(f"cannot read entry {entry}: {exc}", EXIT_USAGE)
    extra = dict(_load_factory(checkers)()) if checkers else None
    env = VerificationEnvironment(
        store,
        pol,
        checked_at=at,
        resolver=DidResolver.offline() if offline else DidResolver.default(),
        checkers=extra,
    )
    # The claim rule (docs/jobs.md): the entry's claims are registered like a job's (replacing earlier claims of the
    # same entry number and line, so running it again changes nothing) unless --no-record-claims; quantities then
    # reconcile against the claims of entries ordered before it, whoever registered them.
    if record_claims:
        store.put_claims(parsed.claims())
    claims = store.claims([parsed.invoice_number] if parsed.invoice_number else [])
    from ..workflows._decide import decide_entry

    verdict = decide_entry(
        parsed,
        env.graph_for([parsed]),
        env.parties,
        env.trust,
        checked_at=at,
        prior_claims=prior_claims(parsed, claims),
    )
    result = verdict.to_json()
    if as_json:
        _print_json(result)
    else:
        _print_verdict(result)
    raise typer.Exit(VERDICT_EXIT[verdict.verdict])


# -- jobs ------------------------------------------------------------------------------------------------------


@jobs_app.command("run")
def jobs_run(
    file: Annotated[
        Path | None, typer.Argument(help="Entries: .csv (one row per line) or .jsonl (one entry per line).")
    ] = None,
    policy: PolicyOption = None,
    db: DbOption = None,
    job_id: Annotated[str | None, typer.Option(help="Job id (default: derived from input and policy).")] = None,
    checked_at: Annotated[str | None, typer.Option(help="Check instant (default: when the job is created).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: the cores available).")] = None,
    chunk_size: Annotated[int, typer.Option(min=1, help="Entries per committed chunk (task).")] = 64,
    cluster: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler (tcp://HOST:8786) or 'local' for an embedded LocalCluster; "
            "default $VCGATE_DASK_SCHEDULER, else a local process pool."
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Only resume an existing job (FILE or --job-id names it); never create.")
    ] = False,
    checkers: CheckersOption = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    workflow: Annotated[
        str | None,
        typer.Option(help="Workflow: a shipped name (`vcgate workflows list`) or a workflow file (default: ipr)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create (or resume) a job and verify its entries in parallel; results are stored per entry hash."""
    from .._cluster import ClusterError, DaskExecutor, scheduler_address

    try:
        address = scheduler_address(cluster)
    except ClusterError as exc:
        _usage(str(exc))
    pol = _policy(policy)
    wf = None
    if workflow is not None:
        from ..workflows import load_workflow
        from ..workflows._decide import policy_with_workflow

        try:
            wf = load_workflow(workflow)
            pol = policy_with_workflow(pol, wf)
        except VcgateError as exc:
            _fail(str(exc), EXIT_INVALID)
    fixed = _instant(checked_at, "--checked-at")
    if file is None:
        if not (resume and job_id):
            _usage("give the entries FILE (or --resume --job-id JOB to finish an existing job)")
        data = b""
    else:
        try:
            data = file.read_bytes()
        except OSError as exc:
            unreadable(file, exc.strerror)
    store = _store(db)
    jid = job_id or default_job_id(data, pol, fixed)
    if resume:
        if store.job(jid) is None:
            _fail(f"no job {jid!r} to resume (`vcgate jobs status` lists the jobs)", EXIT_INVALID)
        if not as_json:
            out.print(f"resuming job {jid}")
    else:
        assert file is not None  # the usage check above
        try:
            rows = read_entry_file(file.name, data, wf)
            created = create_job(
                store, rows, pol, job_id=jid, checked_at=fixed or datetime.now(UTC), source=str(file.resolve())
            )
        except VcgateError as exc:
            _fail(str(exc), EXIT_INVALID)
        if not as_json:
            malformed = sum(1 for r in rows if r.problem)
            out.print(
                f"{'created' if created else 'resuming'} job {jid}: {len(rows)} rows"
                + (f", {malformed} malformed (reported per row)" if malformed else "")
            )
    executor: Executor
    if address is not None:
        executor = DaskExecutor(address, workers=workers)
    else:
        executor = LocalProcessExecutor(workers) if (workers is None or workers > 1) else InlineExecutor()
    try:
        if no_progress or as_json:
            summary = run_job(store, jid, executor=executor, chunk_size=chunk_size, checker_factory=checkers)
        else:
            with Progress(
                TextColumn("[bold]verifying[/bold]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("entries"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=err,
            ) as bar:
                task = bar.add_task("verify", total=None)

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                summary = run_job(
                    store, jid, executor=executor, chunk_size=chunk_size, checker_factory=checkers, progress=progress
                )
    except VcgateError as exc:
        _fail(str(exc))
    if as_json:
        _print_json(summary.to_json())
    else:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.verdicts.items()))
        out.print(f"job {jid} {summary.state}: {summary.done}/{summary.entries} entries ({counts})")
        out.print(f"report: vcgate jobs report {jid} --out DIR")


@jobs_app.command("status")
def jobs_status(
    job_id: Annotated[str | None, typer.Argument(help="Job id (default: list jobs).")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a job's progress and verdict counts, or list jobs."""
    store = _store(db, read_only=True)
    if job_id is None:
        jobs = store.jobs()
        if as_json:
            _print_json(jobs)
            return
        rows = [(j["id"], j["created_at"], j["state"], str(j["total_rows"]), j["policy_name"]) for j in jobs]
        out.print(fitted_table(("job", "created", "state", "rows", "policy"), rows))
        return
    try:
        summary = job_status(store, job_id)
    except JobError as exc:
        _fail(str(exc), EXIT_INVALID)
    if as_json:
        _print_json(summary.to_json())
    else:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.verdicts.items())) or "none yet"
        out.print(
            f"job {job_id}: {summary.state}; {summary.rows} rows, {summary.entries} entries, {summary.malformed} "
            f"malformed; {summary.done} verified ({counts})"
        )
        _print_cluster(summary)


def _print_cluster(summary: JobSummary) -> None:
    """Where the job ran on a cluster: the scheduler, its dashboard, per-worker throughput, failed chunks."""
    if summary.cluster:
        out.print(f"cluster: {summary.cluster['scheduler']}  dashboard: {summary.cluster['dashboard'] or '-'}")
    if summary.workers:
        rows = [
            (str(w["worker"]), str(w["tasks"]), str(w["entries"]), f"{w['entriesPerSecond']:.1f}", str(w["failed"]))
            for w in summary.workers
        ]
        out.print(fitted_table(("worker", "tasks", "entries", "entries/s", "failed"), rows))
    for f in summary.failed_tasks:
        out.print(f"[red]failed[/red] {f['task']}: {f['error']}")


@jobs_app.command("report")
def jobs_report(
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    db: DbOption = None,
    key: Annotated[Path | None, typer.Option(help="Gateway key that signs the report (default: unsigned).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write report.json and report.html here.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Issue the job's VerificationReport credential (signed with --key) and render JSON and HTML."""
    require_file(key, "key file")
    store = _store(db)
    try:
        results = job_results(store, job_id)
    except JobError as exc:
        _fail(str(exc), EXIT_INVALID)
    now = datetime.now(UTC)
    pair = None
    if key is not None:
        try:
            pair = KeyPair.from_file(key)
        except VcgateError as exc:
            _usage(str(exc))
    issuer = pair.controller if pair else "did:web:gateway.invalid"
    report = build_report(results["job"], results["rows"], issuer=issuer, issued_at=now)
    if pair is not None:
        report = sign_report(report, pair, created=now)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (out_dir / "report.html").write_text(render_html(report), encoding="utf-8")
        if not as_json:
            out.print(f"wrote {out_dir / 'report.json'} and {out_dir / 'report.html'}")
    if as_json or out_dir is None:
        _print_json(report)


# -- links -----------------------------------------------------------------------------------------------------


def links_command(
    identifier: Annotated[str, typer.Argument(help="A GTIN, DID, credential id, licence id, invoice number, …")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Query the credential graph: credentials carrying ID, and credentials linked to them by shared identifiers."""
    from .._link_query import query_links

    nodes = query_links(_store(db, read_only=True), identifier)["credentials"]
    if as_json:
        _print_json({"query": identifier, "credentials": nodes})
        return
    if not nodes:
        out.print(f"no credential carries {identifier}")
        raise typer.Exit(EXIT_INVALID)
    rows = [
        (n["id"], n["issuer"] or "", ", ".join(n["types"]), ", ".join(n["matchedBy"]), "\n".join(n["identifiers"]))
        for n in nodes
    ]
    out.print(fitted_table(("credential", "issuer", "types", "matched by", "identifiers"), rows, ids=2))


def register_jobs_commands(app: typer.Typer) -> None:
    """Mount ``parties``, ``jobs``, ``sync``, ``verify-entry`` and ``links`` on the ``vcgate`` app."""
    app.add_typer(parties_app, name="parties")
    app.add_typer(jobs_app, name="jobs")
    app.command("sync")(sync_command)
    app.command("verify-entry")(verify_entry_command)
    app.command("links")(links_command)
