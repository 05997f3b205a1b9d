"""The merged schema: what composition (router/compose.py) decides the supergraph says,
and what the printer (router/supergraph_printer.py) writes out in Apollo's format. Its own
module so that the two depend on it and not on each other."""
from __future__ import annotations

from dataclasses import dataclass, field

from router.subgraph_schema import Applied


@dataclass
class MergedArgument:
    name: str
    type: str
    description: object = None
    default_value: str | None = None
    applied: Applied = field(default_factory=Applied)


@dataclass
class MergedField:
    name: str
    type: str
    description: object = None
    arguments: list[MergedArgument] = field(default_factory=list)
    joins: list[dict] = field(default_factory=list)  # @join__field arguments, in order
    applied: Applied = field(default_factory=Applied)
    default_value: str | None = None  # input fields


@dataclass
class MergedEnumValue:
    name: str
    description: object = None
    graphs: list[str] = field(default_factory=list)
    applied: Applied = field(default_factory=Applied)


@dataclass
class MergedType:
    name: str
    kind: str
    description: object = None
    join_types: list[dict] = field(default_factory=list)
    interfaces: list[str] = field(default_factory=list)
    implements: list[tuple[str, str]] = field(default_factory=list)  # (graph, interface)
    members: list[str] = field(default_factory=list)
    union_members: list[tuple[str, str]] = field(default_factory=list)  # (graph, member)
    fields: list[MergedField] = field(default_factory=list)
    values: list[MergedEnumValue] = field(default_factory=list)
    applied: Applied = field(default_factory=Applied)


@dataclass
class MergedSchema:
    graphs: list[tuple[str, str, str]]  # (join__Graph value, subgraph name, url)
    roots: dict[str, str]
    types: list[MergedType]

    @property
    def uses_inaccessible(self) -> bool:
        return any(_elements_with(self, lambda a: a.inaccessible))

    @property
    def uses_tag(self) -> bool:
        return any(_elements_with(self, lambda a: bool(a.tags)))


def _elements_with(schema: MergedSchema, test):
    for merged in schema.types:
        yield test(merged.applied)
        for f in merged.fields:
            yield test(f.applied)
            for a in f.arguments:
                yield test(a.applied)
        for v in merged.values:
            yield test(v.applied)
