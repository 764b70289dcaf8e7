"""The workflow engine: runs a :class:`~._model.Workflow` over one entry and its credential graph (docs/workflows.md).

Pure: no I/O, no clock read for verdicts (the entry date is the instant every rule judges by; ``checked_at`` is a
parameter), deterministic for the same inputs. The only clock read is ``timer`` (injectable) for per-step timing,
which is reported and never decides anything. An expression that fails at run time makes its step ``error`` with
reason ``WORKFLOW_EXPRESSION_ERROR`` (the line becomes ``undetermined``); it never raises.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .._links import (
    CredentialGraph,
    CredentialView,
    EntryError,
    EntryVerdict,
    digest_multibase,
    gtin_prefixes,
    normalize_gtin,
)
from .._parties import PartyRegistry
from ._model import Expression, Workflow

EXPRESSION_ERROR = "WORKFLOW_EXPRESSION_ERROR"
UNIT_ERROR = "WORKFLOW_UNIT_MISMATCH"
#: Reason codes the engine itself gives (besides the workflow's own and the credential failures).
ENGINE_CODES = frozenset({EXPRESSION_ERROR, UNIT_ERROR})

_CEL_ERRORS = (ValueError, TypeError, RuntimeError, KeyError, IndexError, ZeroDivisionError, OverflowError)


#: Claims by reconcile step and key, then by claimant (``None`` when the step names no claimant).
ClaimLedger = dict[tuple[str, ...], dict[str | None, Decimal]]


class ExpressionFailedError(Exception):
    def __init__(self, expr: Expression, exc: BaseException | str) -> None:
        super().__init__(str(exc))
        self.expr = expr
        self.detail = f"line {expr.line}: {expr.source!r} failed: {str(exc).splitlines()[0] if str(exc) else exc!r}"


@dataclass(frozen=True)
class WorkflowEntry:
    """One entry as a workflow sees it: ``fields`` (the ``entry`` variable) and its lines (``line``).

    ``normal`` is the normalised JSON a job stores (``to_json``) and ``key`` hashes; build with
    :func:`~vcgate.gateway.workflows.parse_workflow_entry`.
    """

    key: str
    number: str
    date: datetime
    fields: Mapping[str, Any]
    lines: tuple[Mapping[str, Any], ...]
    normal: Mapping[str, Any] = field(default_factory=dict, compare=False)

    # What a job asks of any entry (the IPR ``Entry`` has the same names).
    invoice_number: None = None
    invoice_id: None = None
    credential_id: None = None

    @property
    def entry_number(self) -> str:
        """The entry number."""
        return self.number

    def to_json(self) -> dict[str, Any]:
        """The normalised row (with the workflow's name): what jobs store."""
        return dict(self.normal)

    def claims(self) -> list[dict[str, Any]]:
        """Invoice claims for the store's claim book: none (a workflow reconciles within the job's ordered pass)."""
        return []


@dataclass(frozen=True)
class Authorities:
    """Roots of authority by claim kind (``trust.roots_of_authority``): party ids or DIDs."""

    roots: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def holds(self, kind: str, party: str | None, did: str | None) -> bool:
        """Whether the party (or DID) is a root of authority for ``kind``."""
        allowed = self.roots.get(kind, frozenset())
        return (party is not None and party in allowed) or (did is not None and did in allowed)


# ---------------------------------------------------------------------------------------------------------------
# Typed credential views: computed once per (workflow, credential document), reused across entries and jobs.

_RAW_CACHE: dict[tuple[str, str], tuple[Mapping[str, Any], dict[str, Any], dict[str, tuple[str, ...]]]] = {}
_RAW_CACHE_LIMIT = 50_000


def _coerce(value: Any, kind: str) -> Any:
    if kind in ("any", "party", "did"):
        if kind in ("party", "did"):
            if isinstance(value, Mapping):
                value = value.get("id")
            return value if isinstance(value, str) and value else None
        return value
    if kind == "string":
        return value if isinstance(value, str) else None
    if kind == "int":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind == "number":
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                d = Decimal(value.strip())
            except InvalidOperation:
                return None
            return float(d) if d.is_finite() else None
        return None
    if kind == "bool":
        return value if isinstance(value, bool) else None
    if kind == "timestamp":
        return _instant(value)
    if kind == "gtin":
        return _gtin(value)
    if kind == "list":
        return list(value) if isinstance(value, list) else []
    if kind == "map":
        return dict(value) if isinstance(value, Mapping) else None
    return None


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else None
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t.astimezone(UTC) if t.tzinfo else None


def _gtin(value: Any) -> str | None:
    try:
        return normalize_gtin(value)
    except EntryError:
        return None


def _key_values(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out = []
    for v in items:
        if isinstance(v, (str, int)) and not isinstance(v, bool) and str(v).strip():
            out.append(str(v).strip())
    return tuple(out)


def _view_raw(workflow: Workflow, view: CredentialView) -> tuple[dict[str, Any], dict[str, tuple[str, ...]]]:
    """The typed fields (before party resolution) and index keys of one credential under ``workflow``."""
    cache_key = (workflow.digest, view.id)
    hit = _RAW_CACHE.get(cache_key)
    if hit is not None and (hit[0] is view.document or hit[0] == view.document):
        return hit[1], hit[2]
    fields: dict[str, Any] = {}
    keys: dict[str, tuple[str, ...]] = {}
    subject = view.subject
    for spec in workflow.credentials.values():
        if spec.type not in view.types:
            continue
        env = {"subject": subject, "credential": view.document}
        for f in spec.fields:
            fields[f.name] = _coerce(_quiet(f.expr, env), f.type)
            fields.setdefault("__types__", {})[f.name] = f.type
        for scheme, expr in spec.keys.items():
            keys[scheme] = keys.get(scheme, ()) + _key_values(_quiet(expr, env))
    if len(_RAW_CACHE) >= _RAW_CACHE_LIMIT:
        _RAW_CACHE.clear()
    _RAW_CACHE[cache_key] = (view.document, fields, keys)
    return fields, keys


def _quiet(expr: Expression, env: Mapping[str, Any]) -> Any:
    # View fields and keys over hostile documents: a field the document lacks (or has in the wrong shape) is null.
    try:
        return expr.program.execute({v: env[v] for v in expr.variables if v in env} | _functions(expr))
    except _CEL_ERRORS:
        return None


def _functions(expr: Expression) -> dict[str, Callable[..., Any]]:
    return {f: _PURE_FUNCTIONS[f] for f in expr.functions if f in _PURE_FUNCTIONS}


def _sum(values: Any) -> Any:
    if not isinstance(values, list):
        raise TypeError("sum() takes a list of numbers")
    total: Any = 0
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"sum() takes numbers, got {type(v).__name__}")
        total += v
    return total


def _distinct(values: Any) -> list[Any]:
    if not isinstance(values, list):
        raise TypeError("distinct() takes a list")
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def _join(values: Any, separator: Any = ", ") -> str:
    if not isinstance(values, list) or not isinstance(separator, str):
        raise TypeError("join() takes a list and a separator text")
    return separator.join(v if isinstance(v, str) else str(v) for v in values)


def _ts(value: Any) -> str:
    t = _instant(value)
    if t is None:
        raise TypeError("ts() takes a timestamp")
    return t.isoformat().replace("+00:00", "Z")


def _convert(amount: Any, from_unit: Any, to_unit: Any) -> float:
    return float(convert_units(Decimal(str(amount)), str(from_unit), str(to_unit)))


_MISS = object()
_MEMO_LIMIT = 200_000


def _freeze(value: Any) -> Any:
    # A hashable stand-in for an expression input (values are never mutated during a session).
    if isinstance(value, Mapping):
        return tuple((k, _freeze(v)) for k, v in value.items())
    if isinstance(value, list):
        return ("[", *(_freeze(v) for v in value))
    return value


_PURE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "gtin": _gtin,
    "gtin_prefixes": lambda g: list(gtin_prefixes(g)) if isinstance(g, str) and len(g) == 14 else [],
    "ts": _ts,
    "sum": _sum,
    "distinct": _distinct,
    "convert": _convert,
    "join": _join,
}


def convert_units(amount: Decimal, from_unit: str, to_unit: str) -> Decimal:
    """``amount`` in ``from_unit`` expressed in ``to_unit`` (pint's unit registry); raises ``ValueError``."""
    if from_unit == to_unit:
        return amount
    import pint  # imported when a workflow first mixes units: pint's registry takes a moment to build

    registry = _pint_registry(pint)
    try:
        q = registry.Quantity(amount, from_unit).to(to_unit)
    except (pint.errors.PintError, AttributeError, TypeError, ValueError) as exc:
        raise ValueError(f"cannot convert {from_unit} to {to_unit}: {exc}") from None
    return Decimal(str(q.magnitude))


_REGISTRY: list[Any] = []


def _pint_registry(pint: Any) -> Any:
    if not _REGISTRY:
        _REGISTRY.append(pint.UnitRegistry(non_int_type=Decimal))
    return _REGISTRY[0]


# ---------------------------------------------------------------------------------------------------------------
# A session: one workflow over one graph under one party registry and trust policy (many entries).


class WorkflowSession:
    """Runs ``workflow`` over entries that share ``graph``; views and the index are built once per session."""

    def __init__(
        self,
        workflow: Workflow,
        graph: CredentialGraph,
        parties: PartyRegistry,
        *,
        authorities: Authorities,
        territory: str,
        timer: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        self.workflow = workflow
        self.graph = graph
        self.parties = parties
        self.authorities = authorities
        self.territory = territory
        self.timer = timer
        self._views: dict[str, dict[str, Any]] = {}
        self._index: dict[tuple[str, str], list[str]] = {}
        for v in graph.views.values():
            _, keys = _view_raw(workflow, v)
            for scheme, values in keys.items():
                for value in values:
                    self._index.setdefault((scheme, value), []).append(v.id)
        self._party_cache: dict[str | None, str | None] = {}
        self._memo: dict[tuple[Any, ...], Any] = {}
        self.functions: dict[str, Callable[..., Any]] = dict(_PURE_FUNCTIONS)
        self.functions.update(
            {
                "find": self.find,
                "ids": self.ids,
                "views": self.views,
                "get": self.get,
                "party": self.party,
                "party_by": self.party_by,
                "authority": self.authority,
                "digest": self.digest,
            }
        )

    # -- functions available to expressions --------------------------------------------------------------------

    def party(self, did: Any) -> str | None:
        """A registered party's id for ``did``; an unregistered DID stands for itself (compared by equality)."""
        if isinstance(did, Mapping):
            did = did.get("id")
        if not isinstance(did, str) or not did:
            return None
        if did not in self._party_cache:
            p = self.parties.party_for_did(did)
            self._party_cache[did] = p.id if p else did.split("#", 1)[0]
        return self._party_cache[did]

    def party_by(self, scheme: Any, value: Any) -> str | None:
        """The party registered with identifier ``scheme``/``value``, else null."""
        if not isinstance(scheme, str) or not isinstance(value, str):
            return None
        p = self.parties.party_for_identifier(scheme, value)
        return p.id if p else None

    def authority(self, kind: Any, view: Any, did: Any = None) -> bool:
        """Whether a credential's effective issuer (or issuer DID) is a root of authority for ``kind``: called with
        the credential view, or with its ``issuer_party`` and ``issuer``."""
        if not isinstance(kind, str):
            raise TypeError("authority(kind, credential) takes a claim kind first")
        if isinstance(view, Mapping):
            return self.authorities.holds(kind, view.get("issuer_party"), view.get("issuer"))
        party = view if isinstance(view, str) else None
        return self.authorities.holds(kind, party, did if isinstance(did, str) else None)

    def view(self, credential_id: str) -> dict[str, Any] | None:
        """The typed view of a credential of the graph (what ``it`` and bindings hold)."""
        out = self._views.get(credential_id)
        if out is not None:
            return out
        v = self.graph.views.get(credential_id)
        if v is None:
            return None
        raw, _ = _view_raw(self.workflow, v)
        types = raw.get("__types__", {})
        start, end = v.valid_window()
        out = {
            "id": v.id,
            "types": list(v.types),
            "issuer": v.issuer,
            "issuer_party": v.effective_issuer,
            "status": v.status,
            "failure": v.failure,
            "recorded_at": v.ledger_time,
            "valid_from": start,
            "valid_until": end,
        }
        for name, value in raw.items():
            if name != "__types__":
                out[name] = self.party(value) if types.get(name) == "party" else value
        self._views[credential_id] = out
        return out

    def ids(self, scheme: Any, value: Any, credential_type: Any = None) -> list[str]:
        """Ids of the credentials carrying index key ``scheme``/``value`` (or any of a list of values), of
        ``credential_type`` when given, in id order, no repeats (cheap: candidates need only ids)."""
        if not isinstance(scheme, str):
            raise TypeError("ids(scheme, value) takes a key scheme")
        found: set[str] = set()
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, (str, int)) and not isinstance(item, bool):
                found.update(self._index.get((scheme, str(item)), ()))
        if isinstance(credential_type, str):
            found = {i for i in found if credential_type in self.graph.views[i].types}
        return sorted(found)

    def find(self, scheme: Any, value: Any, credential_type: Any = None) -> list[dict[str, Any]]:
        """The views :meth:`ids` names."""
        return [v for i in self.ids(scheme, value, credential_type) if (v := self.view(i)) is not None]

    def views(self, ids: Any) -> list[dict[str, Any]]:
        """The views of a list of credential ids (unknown ids are left out)."""
        if not isinstance(ids, list):
            raise TypeError("views(ids) takes a list of credential ids")
        return [v for i in ids if isinstance(i, str) and (v := self.view(i)) is not None]

    def get(self, credential_id: Any) -> dict[str, Any] | None:
        """The view with this credential id, else null."""
        return self.view(credential_id) if isinstance(credential_id, str) else None

    def digest(self, view: Any) -> str | None:
        """The ``digestMultibase`` (RFC 8785 JSON, SHA-256) of the credential behind ``view``."""
        vid = view.get("id") if isinstance(view, Mapping) else view
        v = self.graph.views.get(vid) if isinstance(vid, str) else None
        return digest_multibase(v.document) if v is not None else None

    # -- evaluation --------------------------------------------------------------------------------------------

    def evaluate(self, expr: Expression, scope: Mapping[str, Any]) -> Any:
        """Evaluate ``expr`` with the names it reads from ``scope``; raises :class:`ExpressionFailedError`.

        Pure functions of their inputs, evaluations are memoised per session (entries of a chunk share credentials),
        and each variable is handed over with only the fields the expression reads.
        """
        ctx: dict[str, Any] = {}
        key: list[Any] = [id(expr)]
        for name, fields in expr.projections:
            if name not in scope:
                continue
            value = scope[name]
            if fields is not None and isinstance(value, Mapping):
                value = {k: value[k] for k in fields if k in value}
            ctx[name] = value
            key.append(_freeze(value))
        memo_key = tuple(key)
        hit = self._memo.get(memo_key, _MISS)
        if hit is not _MISS:
            if isinstance(hit, ExpressionFailedError):
                raise hit
            return hit
        for f in expr.functions:
            fn = self.functions.get(f)
            if fn is not None:
                ctx[f] = fn
        try:
            result = expr.program.execute(ctx)
        except _CEL_ERRORS as exc:
            failure = ExpressionFailedError(expr, exc)
            self._remember(memo_key, failure)
            raise failure from None
        self._remember(memo_key, result)
        return result

    def _remember(self, key: tuple[Any, ...], value: Any) -> None:
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = value

    def holds(self, expr: Expression, scope: Mapping[str, Any]) -> bool:
        """A rule expression's truth; anything but a boolean is an expression failure."""
        value = self.evaluate(expr, scope)
        if not isinstance(value, bool):
            raise ExpressionFailedError(expr, f"a rule must give true or false, not {type(value).__name__}")
        return value

    def text(self, expr: Expression | None, scope: Mapping[str, Any]) -> str:
        """A detail text (a failing detail expression never hides the verdict: it becomes its own message)."""
        if expr is None:
            return ""
        try:
            value = self.evaluate(expr, scope)
        except ExpressionFailedError as exc:
            return f"(detail unavailable: {exc.detail})"
        return value if isinstance(value, str) else str(value)

    def run(
        self,
        entry: WorkflowEntry,
        *,
        checked_at: datetime,
        prior: Mapping[tuple[str, ...], Mapping[str | None, Decimal]] | None = None,
        policy: str = "",
        policy_digest: str = "",
    ) -> EntryVerdict:
        """The verdict on ``entry``.

        ``prior`` maps (reconcile step name, *key) to the amounts other entries claimed before this one (ordered by
        entry date, then entry number), by claimant; claims of this entry's earlier lines are added as lines are
        judged.
        """
        from ._run import run_entry

        claims: ClaimLedger = {k: dict(v) for k, v in (prior or {}).items()}
        return run_entry(self, entry, checked_at, claims, policy, policy_digest)

    def run_with_claims(
        self,
        entry: WorkflowEntry,
        *,
        checked_at: datetime,
        claims: ClaimLedger,
        policy: str = "",
        policy_digest: str = "",
    ) -> EntryVerdict:
        """:meth:`run`, adding this entry's claims to ``claims`` (a running book over entries judged in order)."""
        from ._run import run_entry

        return run_entry(self, entry, checked_at, claims, policy, policy_digest)


__all__ = [
    "ENGINE_CODES",
    "EXPRESSION_ERROR",
    "UNIT_ERROR",
    "Authorities",
    "ClaimLedger",
    "WorkflowEntry",
    "WorkflowSession",
    "convert_units",
]
