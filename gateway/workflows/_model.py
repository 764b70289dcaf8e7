"""Workflow documents: a versioned YAML file parsed into a frozen, compiled :class:`Workflow` (docs/workflows.md).

Every expression is CEL (docs/adr/0008-workflow-expressions-cel.md), compiled when the file is loaded; a file that is
not a workflow fails with :class:`WorkflowError` naming the line and, for an expression, the expression at fault.
Nothing here evaluates anything: the engine (:mod:`._engine`) does.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import cel
import rfc8785
import yaml

from vcgate.canonical_schema import InputError

Failure = Literal["not_authorized", "undetermined"]
FieldType = Literal["string", "int", "number", "bool", "timestamp", "party", "did", "gtin", "list", "map", "any"]
FIELD_TYPES: tuple[str, ...] = ("string", "int", "number", "bool", "timestamp", "party", "did", "gtin", "list", "map")
ENTRY_FIELD_TYPES: tuple[str, ...] = ("string", "int", "number", "timestamp", "list")
STEP_KINDS = ("check", "choose", "reconcile")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
WORKFLOW_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")

#: Functions the engine provides to every expression (docs/workflows.md, "Functions").
FUNCTIONS = frozenset(
    {
        "find",
        "ids",
        "views",
        "get",
        "party",
        "party_by",
        "authority",
        "gtin",
        "gtin_prefixes",
        "ts",
        "sum",
        "distinct",
        "digest",
        "convert",
        "join",
    }
)
#: Variables every expression may use, besides the credential views, lets and step bindings.
BASE_VARIABLES = frozenset({"entry", "at", "territory"})
#: Variables of view-field and index-key expressions (over one credential).
VIEW_VARIABLES = frozenset({"subject", "credential"})


class WorkflowError(InputError):
    """A workflow file is not a valid workflow; ``line`` (1-based) and ``expression`` point at the fault."""

    def __init__(self, message: str, *, source: str = "", line: int | None = None, expression: str | None = None):
        where = f"{source or 'workflow'}" + (f", line {line}" if line else "")
        text = f"{where}: {message}"
        if expression is not None:
            text += f"\n  expression: {expression}"
        super().__init__(text)
        self.source = source
        self.line = line
        self.expression = expression
        self.reason = message


@dataclass(frozen=True)
class Expression:
    """A compiled CEL expression, with where it came from (for errors) and the names it reads."""

    source: str
    line: int
    program: Any = field(repr=False, compare=False)
    variables: frozenset[str] = frozenset()
    functions: frozenset[str] = frozenset()
    #: Per variable, the fields the expression reads (``it.licensor``), or ``None`` when it uses the whole value:
    #: the engine hands CEL only those fields (converting a whole credential view costs ~0.15 ms).
    projections: tuple[tuple[str, frozenset[str] | None], ...] = ()


@dataclass(frozen=True)
class ViewField:
    """A typed field of a credential view: a CEL expression over ``subject`` / ``credential`` and its type."""

    name: str
    expr: Expression
    type: str


@dataclass(frozen=True)
class CredentialSpec:
    """A credential type the workflow uses: its index keys and the typed view the rules see."""

    name: str
    type: str
    keys: Mapping[str, Expression]
    fields: tuple[ViewField, ...]


@dataclass(frozen=True)
class EntryField:
    """A declared field of an entry (or of an entry line) row."""

    name: str
    type: str
    required: bool
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """A named rule: the checks hold, else the step fails with ``reason`` citing ``clause``.

    ``checks`` are tried in order; the first that does not hold decides (a rule counts as one failure).
    """

    name: str
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class Check:
    """One check of a rule: ``expr`` must be true; else ``reason`` (``failure`` says what the line becomes)."""

    expr: Expression
    reason: str
    clause: str
    failure: Failure
    detail: Expression | None = None


@dataclass(frozen=True)
class Outcome:
    """A fixed reason code, the clause it cites, the detail expression and what a failure makes the line
    (``missing``, ``exceeded``, ``skipped``, ``passed``)."""

    reason: str
    clause: str
    detail: Expression | None = None
    failure: Failure = "not_authorized"


@dataclass(frozen=True)
class Quantity:
    """One side of a reconciliation: an amount expression and its unit (a unit name or an expression)."""

    expr: Expression
    unit: str | None = None
    unit_expr: Expression | None = None


@dataclass(frozen=True)
class Step:
    """One step of the workflow (``check``, ``choose`` or ``reconcile``; docs/workflows.md, "Steps")."""

    name: str
    kind: str
    scope: Literal["entry", "line"]
    line: int
    lets: tuple[tuple[str, Expression], ...] = ()
    when: Expression | None = None
    skipped: Outcome | None = None
    record: Literal["always", "on_failure"] = "always"
    rules: tuple[Rule, ...] = ()
    passed: Outcome | None = None
    credentials: Expression | None = None
    # choose
    candidates: Expression | None = None
    where: Expression | None = None
    missing: Outcome | None = None
    rename: Mapping[str, str] = field(default_factory=dict)
    bind: str | None = None
    # reconcile
    key: Expression | None = None
    claimant: Expression | None = None
    counts: Expression | None = None
    claimed: Quantity | None = None
    against: Quantity | None = None
    mode: Literal["cumulative", "total"] = "cumulative"
    tolerance_absolute: Decimal = Decimal(0)
    tolerance_relative: Decimal = Decimal(0)
    exceeded: Outcome | None = None


@dataclass(frozen=True)
class Workflow:
    """A parsed, compiled workflow. Build with :meth:`from_yaml` or :meth:`from_file`."""

    name: str
    version: str
    title: str
    description: str
    digest: str
    credentials: Mapping[str, CredentialSpec]
    entry_fields: tuple[EntryField, ...]
    line_fields: tuple[EntryField, ...]
    line_key: str
    line_quantity: str
    steps: tuple[Step, ...]
    authorized: Outcome
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)
    source: str = ""

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "") -> Workflow:
        """Parse and compile ``text``; raises :class:`WorkflowError` with the line (and expression) at fault."""
        return _Loader(text, source).load()

    @classmethod
    def from_file(cls, path: str | Path) -> Workflow:
        """Parse the workflow file at ``path``."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise WorkflowError(f"cannot read the file: {exc}", source=str(p)) from None
        return cls.from_yaml(text, source=str(p))

    @property
    def label(self) -> str:
        """``name@version``."""
        return f"{self.name}@{self.version}"

    def summary(self) -> dict[str, Any]:
        """Name, version, digest, title, credential types and step names (``workflows list|describe``)."""
        return {
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "title": self.title,
            "credentialTypes": sorted({c.type for c in self.credentials.values()}),
            "steps": [s.name for s in self.steps],
        }

    def describe(self) -> dict[str, Any]:
        """Everything an analyst reads: each step with its rules, reason codes, failures and clauses."""
        out = self.summary()
        out["description"] = self.description
        out["credentials"] = {
            n: {"type": c.type, "keys": sorted(c.keys), "fields": {f.name: f.type for f in c.fields}}
            for n, c in self.credentials.items()
        }
        out["entry"] = {
            "fields": {f.name: f.type for f in self.entry_fields},
            "line": {f.name: f.type for f in self.line_fields},
        }
        out["steps"] = [_describe_step(s) for s in self.steps]
        out["authorized"] = {"reason": self.authorized.reason, "clause": self.authorized.clause}
        return out


def _describe_step(s: Step) -> dict[str, Any]:
    out: dict[str, Any] = {"name": s.name, "kind": s.kind, "scope": s.scope}
    if s.when is not None:
        out["when"] = s.when.source
    out["rules"] = [
        {
            "name": r.name,
            "checks": [
                {"expr": c.expr.source, "reason": c.reason, "clause": c.clause, "failure": c.failure} for c in r.checks
            ],
        }
        for r in s.rules
    ]
    if s.missing is not None:
        out["missing"] = {"reason": s.missing.reason, "clause": s.missing.clause, "failure": s.missing.failure}
    if s.kind == "reconcile" and s.claimed is not None and s.against is not None and s.exceeded is not None:
        out["reconcile"] = {
            "mode": s.mode,
            "key": s.key.source if s.key else None,
            "claimed": s.claimed.expr.source,
            "claimedUnit": s.claimed.unit or (s.claimed.unit_expr.source if s.claimed.unit_expr else None),
            "against": s.against.expr.source,
            "againstUnit": s.against.unit or (s.against.unit_expr.source if s.against.unit_expr else None),
            "tolerance": {"absolute": str(s.tolerance_absolute), "relative": str(s.tolerance_relative)},
            "reason": s.exceeded.reason,
            "clause": s.exceeded.clause,
        }
    return out


# ---------------------------------------------------------------------------------------------------------------
# Loading: YAML nodes keep their line numbers, so every error can name one.


class _Loader:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.names: set[str] = set(BASE_VARIABLES)

    def fail(self, message: str, node: yaml.Node | None, expression: str | None = None) -> WorkflowError:
        line = node.start_mark.line + 1 if node is not None else None
        return WorkflowError(message, source=self.source, line=line, expression=expression)

    def load(self) -> Workflow:
        try:
            root = yaml.compose(self.text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(self.text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            problem = getattr(exc, "problem", exc)
            raise WorkflowError(f"not valid YAML: {problem}", source=self.source, line=line) from None
        if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
            raise self.fail("a workflow is a YAML mapping", root)
        top = self.mapping(root, "workflow")
        self.only(
            top, root, {"workflow", "version", "title", "description", "entry", "credentials", "steps", "verdict"}
        )
        name = self.scalar(top, "workflow", root)
        if not WORKFLOW_NAME.match(name):
            raise self.fail(f"workflow name {name!r} must be lower-case letters, digits and '-'", top["workflow"])
        version = self.scalar(top, "version", root)
        credentials = self.credentials(top.get("credentials"), root)
        entry_fields, line_fields, line_key, line_quantity = self.entry(top.get("entry"), root)
        steps = self.steps(top.get("steps"), root)
        verdict = self.mapping(top["verdict"], "verdict") if "verdict" in top else {}
        authorized = (
            self.outcome(top["verdict"], "verdict", scope="line", key="authorized")
            if "verdict" in top and "authorized" in verdict
            else Outcome("AUTHORIZED", "rule:chain-complete", None)
        )
        digest = "sha256:" + hashlib.sha256(rfc8785.dumps(data)).hexdigest()
        return Workflow(
            name=name,
            version=version,
            title=self.scalar(top, "title", root, required=False) or name,
            description=self.scalar(top, "description", root, required=False) or "",
            digest=digest,
            credentials=credentials,
            entry_fields=entry_fields,
            line_fields=line_fields,
            line_key=line_key,
            line_quantity=line_quantity,
            steps=steps,
            authorized=authorized,
            raw=data,
            source=self.source,
        )

    # -- node helpers ------------------------------------------------------------------------------------------

    def mapping(self, node: yaml.Node | None, what: str) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(f"{what} must be a mapping", node)
        out: dict[str, yaml.Node] = {}
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                raise self.fail(f"{what}: keys must be plain names", k)
            if k.value in out:
                raise self.fail(f"{what}: {k.value!r} appears twice", k)
            out[k.value] = v
        return out

    def only(self, m: Mapping[str, yaml.Node], node: yaml.Node, allowed: set[str]) -> None:
        for k, v in m.items():
            if k not in allowed:
                raise self.fail(f"unknown key {k!r} (expected one of {', '.join(sorted(allowed))})", v)

    def scalar(self, m: Mapping[str, yaml.Node], key: str, parent: yaml.Node, *, required: bool = True) -> str:
        node = m.get(key)
        if node is None:
            if required:
                raise self.fail(f"{key!r} is required", parent)
            return ""
        if not isinstance(node, yaml.ScalarNode) or node.value == "":
            raise self.fail(f"{key!r} must be a non-empty text", node)
        return str(node.value)

    def seq(self, node: yaml.Node | None, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.fail(f"{what} must be a non-empty list", node)
        return list(node.value)

    def expr(
        self, node: yaml.Node | None, *, extra: frozenset[str] | set[str] = frozenset(), view: bool = False
    ) -> Expression:
        # A CEL expression, compiled now; its free names must be known (a typo fails at load time).
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            raise self.fail("an expression must be a non-empty text", node)
        text = str(node.value).strip()
        try:
            program = cel.compile(text)
        except (ValueError, RuntimeError, TypeError) as exc:
            raise self.fail(f"the expression does not compile: {_first_line(exc)}", node, text) from None
        variables = frozenset(str(v) for v in program.variables())
        functions = frozenset(str(f) for f in program.functions() if not _is_operator(str(f)))
        known = (VIEW_VARIABLES if view else frozenset(self.names)) | extra
        bound = _comprehension_variables(text) | _CEL_TYPE_NAMES
        unknown = sorted(v for v in variables if v not in known and v not in bound)
        if unknown:
            raise self.fail(f"the expression names unknown variable(s) {', '.join(unknown)}", node, text)
        bad = sorted(f for f in functions if f not in FUNCTIONS and f not in _CEL_BUILTINS)
        if bad:
            raise self.fail(f"the expression calls unknown function(s) {', '.join(bad)}", node, text)
        projections = tuple((v, _projection(text, v)) for v in sorted(variables) if v not in bound)
        return Expression(text, node.start_mark.line + 1, program, variables, functions, projections)

    # -- sections ----------------------------------------------------------------------------------------------

    def credentials(self, node: yaml.Node | None, root: yaml.Node) -> dict[str, CredentialSpec]:
        if node is None:
            raise self.fail("'credentials' is required", root)
        out: dict[str, CredentialSpec] = {}
        for name, spec_node in self.mapping(node, "credentials").items():
            if not NAME.match(name):
                raise self.fail(f"credential view name {name!r} must be a lower-case identifier", spec_node)
            spec = self.mapping(spec_node, f"credentials.{name}")
            self.only(spec, spec_node, {"type", "keys", "fields"})
            keys = {
                k: self.expr(v, view=True)
                for k, v in (self.mapping(spec["keys"], "keys").items() if "keys" in spec else [])
            }
            fields = []
            for fname, fnode in (self.mapping(spec["fields"], "fields") if "fields" in spec else {}).items():
                if not NAME.match(fname) or fname in _VIEW_STANDARD:
                    raise self.fail(f"field name {fname!r} must be a lower-case identifier, not a standard one", fnode)
                if isinstance(fnode, yaml.ScalarNode):
                    fields.append(ViewField(fname, self.expr(fnode, view=True), "any"))
                    continue
                f = self.mapping(fnode, f"fields.{fname}")
                self.only(f, fnode, {"expr", "type"})
                ftype = self.scalar(f, "type", fnode, required=False) or "any"
                if ftype not in (*FIELD_TYPES, "any"):
                    raise self.fail(f"field type {ftype!r} is not one of {', '.join(FIELD_TYPES)}", f["type"])
                fields.append(ViewField(fname, self.expr(f.get("expr"), view=True), ftype))
            out[name] = CredentialSpec(name, self.scalar(spec, "type", spec_node), keys, tuple(fields))
        return out

    def entry(
        self, node: yaml.Node | None, root: yaml.Node
    ) -> tuple[tuple[EntryField, ...], tuple[EntryField, ...], str, str]:
        if node is None:
            raise self.fail("'entry' is required (the fields of an entry row and of its lines)", root)
        m = self.mapping(node, "entry")
        self.only(m, node, {"fields", "line", "line_key", "line_quantity"})
        entry_fields = self.entry_fields(m.get("fields"), "entry.fields") if "fields" in m else ()
        line_fields = self.entry_fields(m.get("line"), "entry.line")
        names = {f.name for f in line_fields}
        key = self.scalar(m, "line_key", node)
        qty = self.scalar(m, "line_quantity", node)
        for what, value in (("line_key", key), ("line_quantity", qty)):
            if value not in names:
                raise self.fail(f"{what} {value!r} is not a declared line field", m[what])
        return entry_fields, line_fields, key, qty

    def entry_fields(self, node: yaml.Node | None, what: str) -> tuple[EntryField, ...]:
        out = []
        for name, fnode in self.mapping(node, what).items():
            if not re.match(r"^[a-z][A-Za-z0-9]*$", name):
                raise self.fail(f"{what}: field name {name!r} must be lowerCamelCase", fnode)
            f = self.mapping(fnode, f"{what}.{name}")
            self.only(f, fnode, {"type", "required", "aliases"})
            ftype = self.scalar(f, "type", fnode)
            if ftype not in ENTRY_FIELD_TYPES:
                raise self.fail(f"entry field type {ftype!r} is not one of {', '.join(ENTRY_FIELD_TYPES)}", f["type"])
            required = "required" in f and _boolean(f["required"])
            aliases = tuple(str(a.value) for a in self.seq(f["aliases"], "aliases")) if "aliases" in f else ()
            out.append(EntryField(name, ftype, required, aliases))
        return tuple(out)

    def steps(self, node: yaml.Node | None, root: yaml.Node) -> tuple[Step, ...]:
        if node is None:
            raise self.fail("'steps' is required", root)
        out: list[Step] = []
        seen: set[str] = set()
        for snode in self.seq(node, "steps"):
            step = self.step(snode)
            if step.name in seen:
                raise self.fail(f"step name {step.name!r} appears twice", snode)
            seen.add(step.name)
            out.append(step)
        return tuple(out)

    def step(self, node: yaml.Node) -> Step:
        m = self.mapping(node, "step")
        common = {"name", "kind", "scope", "let", "when", "skipped", "record", "credentials"}
        kind_keys = {
            "check": {"rules", "passed"},
            "choose": {"candidates", "where", "rules", "missing", "rename", "bind"},
            "reconcile": {"key", "claimant", "counts", "claimed", "against", "mode", "tolerance", "exceeded", "passed"},
        }
        name = self.scalar(m, "name", node)
        if not NAME.match(name):
            raise self.fail(f"step name {name!r} must be a lower-case identifier", m["name"])
        kind = self.scalar(m, "kind", node)
        if kind not in STEP_KINDS:
            raise self.fail(f"step kind {kind!r} is not one of {', '.join(STEP_KINDS)}", m["kind"])
        self.only(m, node, common | kind_keys[kind])
        scope = self.scalar(m, "scope", node, required=False) or "line"
        if scope not in ("entry", "line"):
            raise self.fail("scope is 'entry' or 'line'", m["scope"])
        scoped = {"line"} if scope == "line" else set()
        lets: list[tuple[str, Expression]] = []
        for lname, lnode in self.mapping(m["let"], "let").items() if "let" in m else []:
            if not NAME.match(lname) or lname in self.names:
                raise self.fail(f"let name {lname!r} must be a new lower-case identifier", lnode)
            lets.append((lname, self.expr(lnode, extra=scoped)))
            self.names.add(lname)
        record = self.scalar(m, "record", node, required=False) or "always"
        if record not in ("always", "on_failure"):
            raise self.fail("record is 'always' or 'on_failure'", m["record"])
        fields: dict[str, Any] = {
            "name": name,
            "kind": kind,
            "scope": scope,
            "line": node.start_mark.line + 1,
            "lets": tuple(lets),
            "when": self.expr(m["when"], extra=scoped) if "when" in m else None,
            "skipped": self.outcome(node, "step", scope, key="skipped") if "skipped" in m else None,
            "record": record,
            "credentials": self.expr(m["credentials"], extra=scoped) if "credentials" in m else None,
        }
        if kind == "check":
            fields["rules"] = self.rules(m.get("rules"), scoped, node)
            fields["passed"] = self.outcome(node, "step", scope, key="passed") if "passed" in m else None
        elif kind == "choose":
            fields.update(self.choose(m, node, scoped, name))
        else:
            fields.update(self.reconcile(m, node, scoped))
        step = Step(**fields)
        if kind == "choose":
            self.names.add(step.bind or name)
        return step

    def choose(self, m: dict[str, yaml.Node], node: yaml.Node, scoped: set[str], name: str) -> dict[str, Any]:
        bind = self.scalar(m, "bind", node, required=False) or name
        if bind in self.names:
            raise self.fail(f"binding {bind!r} is already a name in this workflow", m.get("bind", node))
        rename = {}
        for k, v in self.mapping(m["rename"], "rename").items() if "rename" in m else []:
            if not isinstance(v, yaml.ScalarNode) or not CODE.match(str(v.value)):
                raise self.fail("rename maps a reason code to a reason code", v)
            rename[k] = str(v.value)
        if "missing" not in m:
            raise self.fail("a choose step needs 'missing' (the reason when no credential is found)", node)
        return {
            "candidates": self.expr(m.get("candidates"), extra=scoped),
            "where": self.expr(m["where"], extra=scoped | {"it"}) if "where" in m else None,
            "rules": self.rules(m.get("rules"), scoped | {"it"}, node, allow_empty=True),
            "missing": self.outcome(node, "step", "line" if scoped else "entry", key="missing"),
            "rename": rename,
            "bind": bind,
        }

    def reconcile(self, m: dict[str, yaml.Node], node: yaml.Node, scoped: set[str]) -> dict[str, Any]:
        mode = self.scalar(m, "mode", node, required=False) or "cumulative"
        if mode not in ("cumulative", "total"):
            raise self.fail("mode is 'cumulative' (claims across entries) or 'total' (one sum)", m["mode"])
        absolute, relative = Decimal(0), Decimal(0)
        if "tolerance" in m:
            t = self.mapping(m["tolerance"], "tolerance")
            self.only(t, m["tolerance"], {"absolute", "relative"})
            absolute = self.decimal(t.get("absolute"), "0")
            relative = self.decimal(t.get("relative"), "0")
        for req in ("claimed", "against", "exceeded"):
            if req not in m:
                raise self.fail(f"a reconcile step needs {req!r}", node)
        extra = scoped | {"claimed", "available", "before", "total", "unit"}
        return {
            "key": self.expr(m["key"], extra=scoped) if "key" in m else None,
            "claimant": self.expr(m["claimant"], extra=scoped) if "claimant" in m else None,
            "counts": self.expr(m["counts"], extra=scoped | {"claimant"}) if "counts" in m else None,
            "claimed": self.quantity(m["claimed"], scoped),
            "against": self.quantity(m["against"], scoped),
            "mode": mode,
            "tolerance_absolute": absolute,
            "tolerance_relative": relative,
            "exceeded": self.outcome(node, "step", "line", key="exceeded", extra=extra),
            "passed": self.outcome(node, "step", "line", key="passed", extra=extra) if "passed" in m else None,
        }

    def quantity(self, node: yaml.Node, scoped: set[str]) -> Quantity:
        q = self.mapping(node, "quantity")
        self.only(q, node, {"expr", "unit"})
        unit = q.get("unit")
        if unit is None:
            return Quantity(self.expr(q.get("expr"), extra=scoped))
        text = str(getattr(unit, "value", ""))
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ */^]*", text) and text not in self.names and "." not in text:
            return Quantity(self.expr(q.get("expr"), extra=scoped), unit=text)
        return Quantity(self.expr(q.get("expr"), extra=scoped), unit_expr=self.expr(unit, extra=scoped))

    def decimal(self, node: yaml.Node | None, default: str) -> Decimal:
        if node is None:
            return Decimal(default)
        try:
            d = Decimal(str(getattr(node, "value", "")))
        except InvalidOperation:
            raise self.fail("a tolerance is a non-negative number", node) from None
        if not d.is_finite() or d < 0:
            raise self.fail("a tolerance is a non-negative number", node)
        return d

    def rules(
        self, node: yaml.Node | None, scoped: set[str], parent: yaml.Node, *, allow_empty: bool = False
    ) -> tuple[Rule, ...]:
        if node is None and allow_empty:
            return ()
        out = []
        for rnode in self.seq(node, "rules"):
            r = self.mapping(rnode, "rule")
            if "checks" in r:
                self.only(r, rnode, {"rule", "checks"})
                checks = tuple(self.check(c, scoped) for c in self.seq(r["checks"], "checks"))
            else:
                checks = (self.check(rnode, scoped),)
            out.append(Rule(self.scalar(r, "rule", rnode), checks))
        return tuple(out)

    def check(self, node: yaml.Node, scoped: set[str]) -> Check:
        c = self.mapping(node, "check")
        self.only(c, node, {"rule", "expr", "reason", "clause", "failure", "detail"})
        reason = self.scalar(c, "reason", node)
        if not CODE.match(reason):
            raise self.fail(f"reason code {reason!r} must be UPPER_SNAKE_CASE", c["reason"])
        failure = self.scalar(c, "failure", node, required=False) or "not_authorized"
        if failure not in ("not_authorized", "undetermined"):
            raise self.fail("failure is 'not_authorized' or 'undetermined'", c["failure"])
        return Check(
            expr=self.expr(c.get("expr"), extra=scoped),
            reason=reason,
            clause=self.scalar(c, "clause", node),
            failure=failure,  # type: ignore[arg-type]  # checked against the Literal's values just above
            detail=self.expr(c["detail"], extra=scoped) if "detail" in c else None,
        )

    def outcome(
        self, parent: yaml.Node, what: str, scope: str, *, key: str, extra: frozenset[str] | set[str] = frozenset()
    ) -> Outcome:
        node = self.mapping(parent, what)[key]
        o = self.mapping(node, key)
        self.only(o, node, {"reason", "clause", "detail", "failure"})
        reason = self.scalar(o, "reason", node, required=key not in ("passed",)) or "OK"
        if not CODE.match(reason):
            raise self.fail(f"reason code {reason!r} must be UPPER_SNAKE_CASE", o.get("reason", node))
        scoped = {"line"} if scope == "line" else set()
        failure = self.scalar(o, "failure", node, required=False) or "not_authorized"
        if failure not in ("not_authorized", "undetermined"):
            raise self.fail("failure is 'not_authorized' or 'undetermined'", o["failure"])
        return Outcome(
            reason=reason,
            clause=self.scalar(o, "clause", node, required=False),
            detail=self.expr(o["detail"], extra=set(extra) | scoped) if "detail" in o else None,
            failure=failure,  # type: ignore[arg-type]  # checked against the Literal's values just above
        )


# Names the CEL compiler reports for operators and macros (not functions an analyst calls).
def _is_operator(name: str) -> bool:
    return name.startswith("_") or name.startswith("@") or name in ("!_", "-_")


_CEL_BUILTINS = frozenset(
    {
        "size",
        "has",
        "all",
        "exists",
        "exists_one",
        "map",
        "filter",
        "int",
        "uint",
        "double",
        "string",
        "bool",
        "bytes",
        "timestamp",
        "duration",
        "type",
        "dyn",
        "matches",
        "contains",
        "startsWith",
        "endsWith",
        "in",
        "getFullYear",
        "getMonth",
        "getDayOfMonth",
    }
)
# Comprehension variables (``list.all(x, …)``) appear among a program's variables; the macro itself binds them.
_MACRO = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")


_CEL_TYPE_NAMES = frozenset(
    {"map", "list", "int", "uint", "double", "string", "bool", "bytes", "null_type", "type", "timestamp", "duration"}
)


def _projection(text: str, name: str) -> frozenset[str] | None:
    # The fields read as `name.field` (not `name.method(`); None when `name` is used any other way.
    fields: set[str] = set()
    for m in re.finditer(rf"(?<![\w.]){re.escape(name)}\b", text):
        rest, before = text[m.end() :], text[: m.start()]
        # `name == null` / `name != null` / `null == name` read no field: an empty projection keeps non-null non-null.
        if re.match(r"\s*[!=]=\s*null\b", rest) or re.search(r"\bnull\s*[!=]=\s*$", before):
            continue
        after = re.match(r"\s*\.\s*([A-Za-z_]\w*)(\s*\()?", rest)
        if after is None or after.group(2) is not None:
            return None
        fields.add(after.group(1))
    return frozenset(fields)


def _comprehension_variables(text: str) -> frozenset[str]:
    return frozenset(_MACRO.findall(text))


_VIEW_STANDARD = frozenset(
    {"id", "types", "issuer", "issuer_party", "status", "failure", "recorded_at", "valid_from", "valid_until"}
)


def _boolean(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and str(node.value).lower() in ("true", "yes", "on")


def _first_line(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    for ln in lines:
        if "ERROR" in ln or "error" in ln:
            return ln.strip()
    return lines[0].strip() if lines else type(exc).__name__
