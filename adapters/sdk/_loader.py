"""Finding adapters: the ``vcgate.adapters`` entry-point group, with the interface checked at load (STYLE.md
8).

Built-in adapters register in vcgate's own ``pyproject.toml`` exactly as third parties do in theirs. A plugin
that
cannot be imported, lacks a member, or declares another interface version fails with
:class:`AdapterLoadError`,
which names its distribution and entry point.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import yaml

from ._errors import AdapterConfigError, AdapterLoadError, AdapterNotFoundError, AdapterUnavailableError
from ._interface import ADAPTER_METHODS, API_CHANGES, API_VERSION, Adapter

ENTRY_POINT_GROUP = "vcgate.adapters"


@dataclass(frozen=True, slots=True)
class AdapterPlugin:
    """An installed adapter whose interface passed the load-time checks. ``create(config)`` makes an
    instance."""

    name: str
    entry_point: str
    distribution: str
    distribution_version: str
    factory: type[Any]
    kind: str
    api_version: int
    summary: str

    def create(self, config: Mapping[str, Any]) -> Adapter:
        """Build an adapter instance from ``config``; raise :class:`AdapterConfigError` naming this plugin."""
        try:
            adapter = self.factory.from_config(dict(config))
        except Exception as exc:  # a plugin's own errors become ours, naming the plugin (STYLE.md 3)
            raise AdapterConfigError(
                f"adapter {self.name!r} (package {self.distribution}) rejected its configuration: {exc}"
            ) from exc
        missing = [m for m in ADAPTER_METHODS if not callable(getattr(adapter, m, None))]
        if missing:
            raise AdapterLoadError(
                name=self.name,
                value=self.entry_point,
                distribution=self.distribution,
                reason=f"from_config() returned an object without {', '.join(missing)}",
            )
        return adapter  # type: ignore[no-any-return]  # members checked just above

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``vcgate adapters list --json``."""
        return {
            "name": self.name,
            "kind": self.kind,
            "apiVersion": self.api_version,
            "distribution": self.distribution,
            "distributionVersion": self.distribution_version,
            "entryPoint": self.entry_point,
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True)
class AdapterScan:
    """Every adapter entry point found: the usable plugins and the load errors of the others."""

    plugins: tuple[AdapterPlugin, ...]
    errors: tuple[AdapterLoadError, ...]
    #: Adapters whose package extra is not installed (not an error: ``pip install "vcgate[fabric]"`` enables one).
    unavailable: tuple[AdapterUnavailableError, ...] = ()


def _distribution(ep: EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:
        return "<unknown distribution>", ""
    return str(dist.metadata["Name"] or dist.name), str(dist.version)


def _version_message(version: object) -> str:
    message = f"it declares adapter API_VERSION {version!r}, but this vcgate implements API {API_VERSION}"
    if isinstance(version, int) and not isinstance(version, bool) and 0 < version < API_VERSION:
        # An older plugin: say what changed since, so its author knows what to review before re-declaring.
        changes = "; ".join(f"API {v}: {API_CHANGES[v]}" for v in range(version + 1, API_VERSION + 1))
        message += f" (changed since: {changes}; see docs/adapters.md, 'API versions')"
    return message


def _check_entry_point(ep: EntryPoint) -> AdapterPlugin:
    dist_name, dist_version = _distribution(ep)

    def error(reason: str) -> AdapterLoadError:
        return AdapterLoadError(
            name=ep.name, value=ep.value, distribution=f"{dist_name} {dist_version}".strip(), reason=reason
        )

    try:
        factory = ep.load()
    except ModuleNotFoundError as exc:
        if not ep.extras:
            raise error(f"importing it failed with {type(exc).__name__}: {exc}") from exc
        # Declared as `module:Class [extra]`: the package's optional extra is not installed (a base install).
        raise AdapterUnavailableError(
            name=ep.name,
            value=ep.value,
            distribution=f"{dist_name} {dist_version}".strip(),
            extra=ep.extras[0],
            missing=exc.name or str(exc),
        ) from exc
    except Exception as exc:  # importing third-party code can raise anything; report it, naming the plugin
        raise error(f"importing it failed with {type(exc).__name__}: {exc}") from exc
    if not inspect.isclass(factory):
        raise error(f"it points at a {type(factory).__name__}, not an adapter class")
    version = getattr(factory, "API_VERSION", None)
    if version is None:
        raise error(
            f"class {factory.__qualname__} has no API_VERSION (this vcgate implements adapter API {API_VERSION})"
        )
    if isinstance(version, bool) or not isinstance(version, int) or version != API_VERSION:
        raise error(_version_message(version))
    kind = getattr(factory, "KIND", None)
    if not isinstance(kind, str) or not kind:
        raise error(f"class {factory.__qualname__} has no KIND (its ledger kind, e.g. 'ethereum')")
    missing = [m for m in ADAPTER_METHODS if not callable(getattr(factory, m, None))]
    if missing:
        raise error(f"class {factory.__qualname__} lacks {', '.join(missing)} (required: {', '.join(ADAPTER_METHODS)})")
    doc = inspect.getdoc(factory) or ""
    return AdapterPlugin(
        name=ep.name,
        entry_point=ep.value.partition("[")[0].strip(),  # without the `[extra]` marker
        distribution=dist_name,
        distribution_version=dist_version,
        factory=factory,
        kind=kind,
        api_version=version,
        summary=doc.splitlines()[0] if doc else "",
    )


def scan_adapters(found: Iterable[EntryPoint] | None = None) -> AdapterScan:
    """Load and check every adapter entry point (or the given ones), collecting errors instead of raising."""
    eps = list(found) if found is not None else list(entry_points(group=ENTRY_POINT_GROUP))
    plugins: list[AdapterPlugin] = []
    errors: list[AdapterLoadError] = []
    unavailable: list[AdapterUnavailableError] = []
    by_name: dict[str, list[EntryPoint]] = {}
    for ep in eps:
        by_name.setdefault(ep.name, []).append(ep)
    for name in sorted(by_name):
        group = by_name[name]
        if len({(e.value, _distribution(e)) for e in group}) > 1:
            owners = "; ".join(f"{e.value} in {' '.join(_distribution(e)).strip()}" for e in group)
            errors.append(
                AdapterLoadError(
                    name=name,
                    value=group[0].value,
                    distribution=" ".join(_distribution(group[0])).strip(),
                    reason=f"several packages register the adapter name {name!r} ({owners}); uninstall all but one",
                )
            )
            continue
        try:
            plugins.append(_check_entry_point(group[0]))
        except AdapterUnavailableError as exc:
            unavailable.append(exc)
        except AdapterLoadError as exc:
            errors.append(exc)
    return AdapterScan(tuple(plugins), tuple(errors), tuple(unavailable))


def load_adapters() -> tuple[AdapterPlugin, ...]:
    """Every usable adapter plugin (not those whose extra is missing); raise :class:`AdapterLoadError` for the
    first one that is broken."""
    scan = scan_adapters()
    if scan.errors:
        raise scan.errors[0]
    return scan.plugins


def load_adapter(name: str) -> AdapterPlugin:
    """The installed adapter plugin called ``name`` (checked at load); other plugins' problems do not
    matter."""
    eps = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not eps:
        raise AdapterNotFoundError(name, sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}))
    scan = scan_adapters(eps)
    if scan.errors:
        raise scan.errors[0]
    return scan.plugins[0]


def load_adapter_config(path: str | Path) -> dict[str, Any]:
    """Read an adapter configuration file (YAML or JSON object); raise :class:`AdapterConfigError`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        value = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise AdapterConfigError(f"cannot read adapter configuration {p}: {exc}") from None
    if not isinstance(value, dict):
        raise AdapterConfigError(f"adapter configuration {p} must be a YAML/JSON object at the top level")
    # Relative paths inside a configuration are relative to the file, not to the working directory.
    value.setdefault("configDir", str(p.resolve().parent))
    return value
