"""Errors of the adapter SDK. All derive from :class:`vcgate.canonical_schema.VcgateError`."""

from __future__ import annotations

from vcgate.canonical_schema import Problem, VcgateError


class MappingError(VcgateError):
    """A mapping document is invalid. Each problem's ``pointer`` is a JSON pointer into the mapping
    document."""

    def __init__(self, source: str, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.source = source
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = [f"  {p.pointer or '/'}: {p.detail} [{p.code}]" for p in self.problems]
        super().__init__(f"mapping {source} is invalid; fix these fields:\n" + "\n".join(lines))


class TranslationError(VcgateError):
    """A record cannot be translated under a mapping (a required field is missing, a date does not parse,
    ...).

    ``problem.pointer`` points into the record's content; ``mapping_pointer`` at the mapping field that
    failed.
    """

    def __init__(self, code: str, detail: str, *, record_pointer: str = "", mapping_pointer: str = "") -> None:
        self.problem = Problem(
            code=code,
            title="record cannot be translated",
            detail=detail,
            pointer=record_pointer,
            extra={"mappingPointer": mapping_pointer} if mapping_pointer else {},
        )
        self.mapping_pointer = mapping_pointer
        where = []
        if record_pointer:
            where.append(f"record {record_pointer}")
        if mapping_pointer:
            where.append(f"mapping {mapping_pointer}")
        suffix = f" (at {', '.join(where)})" if where else ""
        super().__init__(f"{detail}{suffix} [{code}]")

    @property
    def code(self) -> str:
        """The stable problem code."""
        return self.problem.code


class AdapterLoadError(VcgateError):
    """An adapter plugin cannot be used. The message names its distribution and entry point."""

    def __init__(self, *, name: str, value: str, distribution: str, reason: str) -> None:
        self.name = name
        self.value = value
        self.distribution = distribution
        self.reason = reason
        super().__init__(
            f"adapter plugin {name!r} (entry point '{name} = {value}' in group 'vcgate.adapters' of package "
            f"{distribution}) cannot be loaded: {reason}. Fix or upgrade that package, or uninstall it."
        )


class AdapterUnavailableError(AdapterLoadError):
    """An adapter needs an optional extra of its package that is not installed; ``install`` is the pip command."""

    def __init__(self, *, name: str, value: str, distribution: str, extra: str, missing: str) -> None:
        package = distribution.split(" ")[0]
        self.name = name
        self.value = value
        self.distribution = distribution
        self.extra = extra
        self.missing = missing
        self.install = f'pip install "{package}[{extra}]"'
        self.reason = f"it needs the optional {extra!r} dependencies (module {missing!r} is missing): {self.install}"
        # Not a broken plugin, so not AdapterLoadError's "fix or uninstall it" message.
        VcgateError.__init__(self, f"adapter {name!r} is unavailable: {self.reason}")


class AdapterNotFoundError(VcgateError):
    """No installed adapter plugin has the requested name."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        names = ", ".join(sorted(known)) or "none"
        super().__init__(
            f"no adapter named {name!r} is installed (installed: {names}); adapters register through the "
            "'vcgate.adapters' entry-point group"
        )


class AdapterConfigError(VcgateError):
    """An adapter rejected its configuration, or a configuration file cannot be read."""
