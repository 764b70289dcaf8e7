"""``vcgate adapters …``: list, describe and sync the installed ledger adapters (a thin shell over the adapter SDK).

Exit codes: 0 success; 1 an adapter plugin is broken (cannot be imported, lacks a member, wrong API version)
or rejected its configuration, or (sync) some records could not be translated or issued; 2 the adapter could not
describe itself or its ledger became unreachable during a sync, or an input file (configuration, key) is missing or
unreadable; 64 usage (an unknown adapter name, a configuration or key file that does not parse).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from vcgate.adapters.sdk import (
    ADAPTER_METHODS,
    AdapterConfigError,
    AdapterLoadError,
    AdapterNotFoundError,
    AdapterPlugin,
    Cursor,
    SourceRecord,
    TranslationError,
    credential_id,
    load_adapter,
    load_adapter_config,
    scan_adapters,
)
from vcgate.canonical_schema import InputError, VcgateError

from .._issuing import IssuingError, IssuingService
from ..verification._keys import KeyPair
from ._common import fitted_table, require_file, unreadable
from ._register import register_adapter

EXIT_OK, EXIT_INVALID, EXIT_ERROR, EXIT_USAGE = 0, 1, 2, 64

adapters_app = typer.Typer(
    no_args_is_help=True, help="Ledger adapters installed through the vcgate.adapters entry points."
)

_out = Console(emoji=False, highlight=False, soft_wrap=True)
_err = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)


def _print_json(value: Any) -> None:
    # Plain print, not rich: --json output must be byte-exact JSON for machines.
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


@adapters_app.command("list")
def list_adapters(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List every installed adapter; broken plugins are reported with the package and entry point to blame."""
    scan = scan_adapters()
    if as_json:
        _print_json(
            {
                "adapters": [p.to_json() for p in scan.plugins],
                "errors": [
                    {
                        "name": e.name,
                        "entryPoint": e.value,
                        "distribution": e.distribution,
                        "reason": e.reason,
                    }
                    for e in scan.errors
                ],
                "unavailable": [
                    {
                        "name": e.name,
                        "entryPoint": e.value,
                        "extra": e.extra,
                        "missing": e.missing,
                        "install": e.install,
                    }
                    for e in scan.unavailable
                ],
            }
        )
    else:
        rows = [[p.name, p.kind, str(p.api_version), f"{p.distribution} {p.distribution_version}", p.entry_point]
                for p in scan.plugins]  # fmt: skip
        # Its package extra is not installed: listed, with how to get it printed after the table.
        rows += [[u.name, "unavailable", "", u.distribution, f"needs the {u.extra} extra"] for u in scan.unavailable]
        table = fitted_table(("name", "kind", "api", "package", "entry point"), rows, title="vcgate adapters")
        _out.print(table)
        for u in scan.unavailable:
            _out.print(f"{u.name} is unavailable; to enable it: {u.install}", markup=False, soft_wrap=True)
        if not scan.plugins:
            _out.print("no adapters installed (they register through the 'vcgate.adapters' entry points)")
        for e in scan.errors:
            _err.print(f"[red]broken adapter:[/red] {escape(str(e))}")
    raise typer.Exit(EXIT_INVALID if scan.errors else EXIT_OK)


def _plugin_json(plugin: AdapterPlugin) -> dict[str, Any]:
    out = plugin.to_json()
    out["interface"] = list(ADAPTER_METHODS)
    return out


@adapters_app.command("describe")
def describe_adapter(
    name: Annotated[str, typer.Argument(help="The adapter's entry-point name (see `vcgate adapters list`).")],
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Adapter configuration (YAML/JSON); describes a configured instance."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Describe one adapter: its package and interface, and with --config its ledger id and mappings."""
    try:
        plugin = load_adapter(name)
    except AdapterNotFoundError as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from None
    except AdapterLoadError as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_INVALID) from None
    result: dict[str, Any] = {"plugin": _plugin_json(plugin)}
    if config is not None:
        require_file(config, "adapter configuration")
        try:
            settings = load_adapter_config(config)
        except AdapterConfigError as exc:
            _err.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(EXIT_USAGE) from None
        try:
            adapter = plugin.create(settings)
        except (AdapterConfigError, AdapterLoadError) as exc:
            _err.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(EXIT_INVALID) from None
        try:
            result["instance"] = adapter.describe().to_json()
        except VcgateError as exc:
            _err.print(f"[red]error:[/red] adapter {name!r} could not describe itself: {exc}")
            raise typer.Exit(EXIT_ERROR) from None
    if as_json:
        _print_json(result)
        raise typer.Exit(EXIT_OK)
    _out.print(f"[bold]{plugin.name}[/bold] — {plugin.summary}")
    _out.print(f"  kind:         {plugin.kind}")
    _out.print(f"  api version:  {plugin.api_version}")
    _out.print(f"  package:      {plugin.distribution} {plugin.distribution_version}")
    _out.print(f"  entry point:  {plugin.name} = {plugin.entry_point}")
    instance = result.get("instance")
    if instance is None:
        _out.print("  (pass --config FILE to describe a configured instance: ledger id and mappings)")
        raise typer.Exit(EXIT_OK)
    _out.print(f"  instance id:  {instance['id']}")
    _out.print(f"  ledger id:    {instance['ledgerId']}")
    _out.print(f"  version:      {instance['version']}")
    rows = [
        (m["id"], m["version"], ", ".join(m["types"][1:]), m["issuanceMode"], m["digest"]) for m in instance["mappings"]
    ]
    _out.print(fitted_table(("id", "version", "types", "mode", "digest"), rows, title="mappings"))
    raise typer.Exit(EXIT_OK)


# ----------------------------------------------------------------------------------------------------------------
# sync

_STATE_FILE = ".vcgate-sync.json"
_REVOCATIONS_FILE = "revocations.json"


@dataclass
class _SyncRun:
    """One ``adapters sync`` run: reads pages, translates, optionally signs, writes credentials idempotently.

    Only the SDK interface is required. Optional adapter members it uses when present: ``revoked_credential_id(record)``
    (the credential a ledger revocation revokes; otherwise every published mapping yields a candidate id),
    ``skipped`` (a list of entries the adapter read but did not translate, reported in the summary) and ``close()``.
    """

    name: str
    adapter: Any
    ledger_id: str
    out: Path | None
    issuer: IssuingService | None
    mappings: list[tuple[str, str]]
    read: int = 0
    written: int = 0
    unchanged: int = 0
    revocations: int = 0
    rewound: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    cursor: Cursor | None = None
    revoked: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: locator -> why its credential file holds weaker evidence than the adapter builds with its ledger healthy.
    incomplete: dict[str, str] = field(default_factory=dict)
    upgraded: int = 0

    def load_state(self) -> Cursor | None:
        if self.out is None or not (self.out / _STATE_FILE).is_file():
            return None
        try:
            state = json.loads((self.out / _STATE_FILE).read_text(encoding="utf-8"))
            if state.get("adapter") != self.name or state.get("ledgerId") != self.ledger_id:
                raise InputError(
                    f"{self.out} holds a sync of adapter {state.get('adapter')!r} ({state.get('ledgerId')}); "
                    "use another --out folder"
                )
            cursor = Cursor.decode(state["cursor"])
            self.incomplete = {str(k): str(v) for k, v in (state.get("incomplete") or {}).items()}
            if (self.out / _REVOCATIONS_FILE).is_file():
                self.revoked = dict(json.loads((self.out / _REVOCATIONS_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
            raise InputError(f"cannot read the sync state in {self.out}: {exc}") from None
        return cursor

    def save_state(self) -> None:
        if self.out is None or self.cursor is None:
            return
        state: dict[str, Any] = {"adapter": self.name, "ledgerId": self.ledger_id, "cursor": self.cursor.encode()}
        if self.incomplete:
            state["incomplete"] = dict(sorted(self.incomplete.items()))
        _write_atomically(self.out / _STATE_FILE, json.dumps(state, indent=2) + "\n")
        if self.revoked:
            _write_atomically(self.out / _REVOCATIONS_FILE, json.dumps(self.revoked, indent=2, sort_keys=True) + "\n")

    def revoked_ids(self, record: SourceRecord) -> list[str]:
        # The adapter knows which mapping translated the superseded record; without that hook, every mapping it
        # publishes yields a candidate id, and the candidates that were issued are the revoked ones.
        hook = getattr(self.adapter, "revoked_credential_id", None)
        if callable(hook):
            return [str(hook(record))]
        assert record.supersedes is not None
        candidates = [credential_id(record.ledger_id, record.supersedes, m, d) for m, d in self.mappings]
        if self.out is None:
            return candidates
        return [c for c in candidates if (self.out / _file_name(c)).is_file()] or candidates

    def upgrade(self) -> None:
        """Rebuild the credentials written with weaker evidence (a peer outage) and rewrite those now complete."""
        for locator in sorted(self.incomplete):
            try:
                record = self.adapter.fetch(locator)
            except VcgateError:
                continue
            if self._shortfall(record) is None:
                del self.incomplete[locator]
                self.handle(record, rewrite=True)
                self.upgraded += 1

    def _shortfall(self, record: SourceRecord) -> str | None:
        hook = getattr(self.adapter, "evidence_shortfall", None)
        found = hook(record) if callable(hook) else None
        return str(found) if found is not None else None

    def handle(self, record: SourceRecord, *, rewrite: bool = False) -> None:
        self.read += 1
        if record.kind == "revocation":
            for revoked in self.revoked_ids(record):
                self.revoked[revoked] = {
                    "revokedBy": record.locator,
                    "supersedes": record.supersedes,
                    "ledgerTime": record.ledger_time.isoformat().replace("+00:00", "Z"),
                }
            self.revocations += 1
            return
        try:
            translation = self.adapter.translate(record)
            target = self.out / _file_name(translation.credential_id) if self.out is not None else None
            if target is not None and target.is_file() and not rewrite:
                self.unchanged += 1  # idempotent: an issued credential is never rewritten (but for an upgrade)
                return
            credential = (
                self.issuer.issue(translation, created=datetime.now(UTC))
                if self.issuer is not None
                else translation.to_json()
            )
        except (TranslationError, IssuingError, InputError) as exc:
            self.failures.append({"locator": record.locator, "error": str(exc)})
            return
        if target is not None:
            _write_atomically(target, json.dumps(credential, indent=2, ensure_ascii=False) + "\n")
        weaker = self._shortfall(record)
        if weaker is not None:
            self.incomplete[record.locator] = weaker
        self.written += 1

    def rewind(self, keep_through: int) -> None:
        """A reorg (a page with ``keep_through``): drop credentials whose evidence lies above that height.

        Records that survived the reorg come again in later pages and get the same ids, so they are rewritten.
        """
        if self.out is None:
            return
        for path in sorted(self.out.glob("*.json")):
            if path.name in (_STATE_FILE, _REVOCATIONS_FILE):
                continue
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
                heights = [int(e["ledgerHeight"]) for e in doc.get("evidence") or [] if isinstance(e, dict)]
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                continue
            if heights and max(heights) > keep_through:
                path.unlink()
                self.rewound += 1

    def summary(self, *, complete: bool, error: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "adapter": self.name,
            "ledgerId": self.ledger_id,
            "complete": complete,
            "recordsRead": self.read,
            "credentialsWritten": self.written,
            "credentialsUnchanged": self.unchanged,
            "revocations": self.revocations,
            "rewound": self.rewound,
            "failed": self.failures,
            "incomplete": [{"locator": k, "reason": v} for k, v in sorted(self.incomplete.items())],
            "upgraded": self.upgraded,
            "cursor": self.cursor.encode() if self.cursor is not None else None,
            "signed": self.issuer is not None,
        }
        if self.out is not None:
            out["out"] = str(self.out)
        skipped = getattr(self.adapter, "skipped", None)
        if isinstance(skipped, list):
            out["skipped"] = [s.to_json() if hasattr(s, "to_json") else str(s) for s in skipped]
        if error is not None:
            out["error"] = error
        return out


def _file_name(credential: str) -> str:
    return credential.removeprefix("urn:uuid:").replace(":", "_").replace("/", "_") + ".json"


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@adapters_app.command("sync")
def sync_adapter(
    name: Annotated[str, typer.Argument(help="The adapter's entry-point name (see `vcgate adapters list`).")],
    config: Annotated[Path, typer.Option("--config", "-c", help="Adapter configuration (YAML/JSON).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Folder for <uuid>.json credentials; also keeps the resume cursor."),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option("--key", "-k", help="Sign with this key file (partner key, or the gateway's key as witness)."),
    ] = None,
    suite: Annotated[str, typer.Option("--suite", help="Cryptosuite for --key.")] = "eddsa-rdfc-2022",
    since: Annotated[
        str | None, typer.Option("--since", help="Start after this cursor token instead of the saved one.")
    ] = None,
    restart: Annotated[
        bool, typer.Option("--restart", help="Ignore the saved cursor; start from the beginning.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Stop after the page in which this many records were read.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Read an adapter's ledger page by page, translate each record and write the credentials.

    Works for every adapter. With --out, credentials go to OUT/<uuid>.json
    (an existing file is never rewritten), ledger revocations to
    OUT/revocations.json, and the cursor after each finished page to
    OUT/.vcgate-sync.json, so a later run resumes where this one stopped.

    With --key the credentials are signed by the issuing service; the key's
    DID is offered to the adapter as its `witness` unless the configuration
    names one. A credential whose evidence is weaker than the adapter builds
    with its ledger healthy (a Fabric peer outage) is listed as incomplete
    and rewritten by a later run once complete. Exit 0 done, 1 some records
    failed or are incomplete, 2 the ledger went away.
    """
    try:
        plugin = load_adapter(name)
    except AdapterNotFoundError as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from None
    except AdapterLoadError as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_INVALID) from None
    require_file(config, "adapter configuration")
    require_file(key, "key file")
    try:
        settings = load_adapter_config(config)
        issuer = IssuingService.for_key(KeyPair.from_file(key), suite) if key is not None else None
        start = Cursor.decode(since) if since is not None else None
    except (AdapterConfigError, VcgateError) as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from None
    if issuer is not None:
        settings.setdefault("witness", issuer.issuer)
    try:
        adapter = plugin.create(settings)
    except (AdapterConfigError, AdapterLoadError) as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_INVALID) from None
    try:
        info = adapter.describe()
    except VcgateError as exc:
        _err.print(f"[red]error:[/red] adapter {name!r} could not describe itself: {exc}")
        raise typer.Exit(EXIT_ERROR) from None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    run = _SyncRun(name, adapter, info.ledger_id, out, issuer, [(m.id, m.digest) for m in info.mappings])
    try:
        saved = run.load_state()
    except InputError as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from None
    if start is None and not restart:
        start = saved
    run.cursor = start
    if out is not None and run.incomplete:
        run.upgrade()  # credentials written during an outage are rebuilt once their evidence is complete
        run.save_state()
    error: str | None = None
    complete = True
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=None),
        TextColumn("{task.completed} records · {task.fields[written]} written"),
        TimeElapsedColumn(),
        console=_err,
        transient=True,
    )
    with progress:
        task = progress.add_task(f"sync {name} ({info.ledger_id})", total=None, written=0)
        try:
            for page in adapter.records(start):
                keep_through = getattr(page, "keep_through", None)
                if isinstance(keep_through, int):
                    run.rewind(keep_through)  # the adapter saw a reorg (e.g. Ethereum's RewindPage)
                for record in page.records:
                    run.handle(record)
                run.cursor = page.next_cursor
                run.save_state()
                progress.update(task, completed=run.read, written=run.written)
                if limit is not None and run.read >= limit:
                    complete = False
                    break
        except VcgateError as exc:
            # The ledger went away mid-sync: keep what was done; the saved cursor resumes after the last full page.
            error = str(exc)
            complete = False
    summary = run.summary(complete=complete, error=error)
    if as_json:
        _print_json(summary)
    else:
        facts = (
            ("records read", run.read),
            ("credentials written", run.written),
            ("already present", run.unchanged),
            ("revocations", run.revocations),
            ("dropped by a reorg", run.rewound),
            ("failed", len(run.failures)),
            ("skipped by the adapter", len(summary.get("skipped", []))),
            ("resume cursor", summary["cursor"] or "(start)"),
            ("finished", "yes" if complete else "no"),
        )
        rows = [(label, str(value)) for label, value in facts]
        _out.print(fitted_table(("", ""), rows, title=f"sync {name} — {info.ledger_id}", show_header=False))
        for failure in run.failures:
            _err.print(f"[red]failed:[/red] {failure['locator']}: {failure['error']}")
        if error is not None:
            _err.print(f"[red]error:[/red] {error}")
    close = getattr(adapter, "close", None)
    if callable(close):
        close()
    if error is not None:
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_INVALID if run.failures or run.incomplete else EXIT_OK)


# ----------------------------------------------------------------------------------------------------------------
# register (a client of a gateway's POST /adapters; the command lives in cli/_register)

adapters_app.command("register")(register_adapter)


# ----------------------------------------------------------------------------------------------------------------
# serve


@adapters_app.command("serve")
def serve_adapter(
    name: Annotated[str, typer.Argument(help="The adapter's entry-point name (see `vcgate adapters list`).")],
    config: Annotated[Path, typer.Option("--config", "-c", help="Adapter configuration (YAML/JSON).")],
    key: Annotated[
        Path | None, typer.Option("--key", "-k", help="Partner key file: sign translations (partner mode).")
    ] = None,
    suite: Annotated[str, typer.Option("--suite", help="Cryptosuite for --key.")] = "eddsa-rdfc-2022",
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8470,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="File holding the bearer token clients must send (or VCGATE_ADAPTER_TOKEN)."),
    ] = None,
    max_body_bytes: Annotated[int, typer.Option("--max-body-bytes", min=1024, help="Request body limit.")] = 1 << 20,
    ssl_certfile: Annotated[Path | None, typer.Option("--ssl-certfile", help="Serve HTTPS with this cert.")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option("--ssl-keyfile", help="Private key for --ssl-certfile.")] = None,
) -> None:
    """Expose an installed adapter over the remote adapter protocol (HTTP, /v1/…).

    The gateway (or `vcgate adapters sync remote`) reaches it with the remote
    adapter: config {url, token}. With --key the service signs translations
    in partner mode, only for records its own adapter reads from the ledger.
    Binds 127.0.0.1 unless --host says otherwise; a non-loopback host needs a
    token. Exit 1 broken adapter, 2 ledger unreachable, 64 usage.
    """
    for path, what in (
        (config, "adapter configuration"),
        (key, "key file"),
        (ssl_certfile, "--ssl-certfile"),
        (ssl_keyfile, "--ssl-keyfile"),
    ):
        require_file(path, what)
    import uvicorn

    from .._adapter_server import AdapterServiceError, build_adapter_service

    token = os.environ.get("VCGATE_ADAPTER_TOKEN") or None
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            unreadable(f"--token-file {token_file}", exc.strerror)
        if token is None:
            _err.print(f"[red]error:[/red] --token-file {token_file} is empty")
            raise typer.Exit(EXIT_USAGE)
    try:
        app, summary = build_adapter_service(
            name,
            str(config),
            key_path=str(key) if key is not None else None,
            suite=suite,
            host=host,
            token=token,
            max_body_bytes=max_body_bytes,
        )
    except AdapterServiceError as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(exc.exit_code) from None
    scheme = "https" if ssl_certfile is not None else "http"
    _err.print(f"serving {summary} at {scheme}://{host}:{port}/v1 (token {'required' if token else 'not required'})")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        ssl_certfile=str(ssl_certfile) if ssl_certfile is not None else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile is not None else None,
    )


# ----------------------------------------------------------------------------------------------------------------
# add / status (the gateway store's registrations, what `vcgate sync` reads)

_DbOption = Annotated[
    str | None, typer.Option("--db", envvar="VCGATE_DATABASE_URL", help="Store database URL (default: SQLite file).")
]


@adapters_app.command("add")
def add_adapter(
    name: Annotated[str, typer.Argument(help="Entry-point name: ethereum, fabric, plain-ledger, remote…")],
    config: Annotated[Path, typer.Option("--config", "-c", help="Adapter configuration (YAML/JSON).")],
    party: Annotated[str | None, typer.Option("--party", help="The registered party (id or DID) it reads for.")] = None,
    registration: Annotated[
        str | None, typer.Option("--as", help="Registration name (default: the configuration's id, else NAME).")
    ] = None,
    witness: Annotated[
        str | None, typer.Option("--witness", help="The gateway's DID, to describe a witness-mode adapter.")
    ] = None,
    db: _DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the registration as JSON.")] = False,
) -> None:
    """Register an adapter in the gateway store for `vcgate sync`.

    The adapter describes itself first (a remote one is asked over HTTP, and
    refused when the gateway has no evidence checker for its ledger kind);
    the mappings it publishes are stored with their digests for replay.
    Re-adding a name re-configures it and keeps its cursor. Exit 1 refused,
    2 the adapter could not describe itself, 64 usage.
    """
    from .._store import Store
    from .._sync import SyncError, register

    require_file(config, "adapter configuration")
    try:
        settings = load_adapter_config(config)
    except AdapterConfigError as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    reg_name = registration or (settings.get("id") if isinstance(settings.get("id"), str) else None) or name
    try:
        store = Store.open(db)
        result = register(store, reg_name, name, settings, party=party, witness=witness)
    except AdapterNotFoundError as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    except (SyncError, AdapterConfigError, AdapterLoadError, InputError) as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_INVALID) from None
    except VcgateError as exc:
        _err.print(f"[red]error:[/red] adapter {name!r} could not describe itself: {exc}")
        raise typer.Exit(EXIT_ERROR) from None
    if as_json:
        _print_json(result)
        return
    info = result["adapter"]
    _out.print(
        f"registered {reg_name}: {name} ({info['kind']}, {info['ledgerId']})"
        + (f" for {result['party']}" if result["party"] else "")
        + f"; {len(result['publishedMappings'])} mappings stored; run `vcgate sync`"
    )


@adapters_app.command("status")
def adapters_status(
    db: _DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Registered adapters: cursor, last sync pass, ledger reads and quarantined records.

    Exit 0 when nothing is quarantined and no last pass failed, else 1.
    """
    from .._store import Store
    from .._sync import status

    try:
        rows = status(Store.open(db))
    except VcgateError as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_ERROR) from None
    unhealthy = any(r["quarantine"] or (r["lastSync"] or {}).get("errors") for r in rows)
    if as_json:
        _print_json({"adapters": rows})
    else:
        lines = [
            (
                r["name"],
                r["kind"] or r["plugin"],
                r["ledgerId"] or "",
                r["party"] or "",
                (r["lastSync"] or {}).get("at", "never"),
                str((r["lastSync"] or {}).get("stored", "")),
                str(len(r["quarantine"])),
                "; ".join((r["lastSync"] or {}).get("errors", ())),
            )
            for r in rows
        ]
        headers = ("adapter", "kind", "ledger", "party", "last sync", "stored", "quarantined", "errors")
        _out.print(fitted_table(headers, lines))
        for r in rows:
            for q in r["quarantine"]:
                _err.print(f"[yellow]{r['name']}[/yellow] {q['locator']}: {q['code']}: {q['reason']}")
        if not rows:
            _out.print("no adapters registered (`vcgate adapters add NAME --config FILE`)")
    raise typer.Exit(EXIT_INVALID if unhealthy else EXIT_OK)
