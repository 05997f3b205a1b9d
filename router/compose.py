"""Federation 2 composition: subgraph SDLs in, one supergraph SDL (Apollo's format) out.

The merge follows Apollo's rules where they matter to a running platform:
- a type has one kind everywhere; objects and interfaces take the union of their fields;
- a field resolved by more than one subgraph must be @shareable in each (key fields are
  shareable by definition; Federation 1 subgraphs share everything); @override moves a
  field to the overriding subgraph;
- a field's type may differ in nullability between subgraphs (the merged output type is
  the most permissive); any other difference is an error;
- enums used only as output types take the union of their values, only as input the
  intersection, and must be identical when used both ways; input objects take the
  intersection of their fields;
- @key, @requires and @provides field sets must select fields that exist.
Every problem found is collected and raised together in one CompositionError, each naming
the subgraph, the type/field and why. Satisfiability (can every field be reached from the
root through keys?) is not checked yet.

The merged model is `router.merged_schema`, printing is `router.supergraph_printer`; this
module decides what the supergraph says."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, ListTypeNode, NamedTypeNode, NonNullTypeNode, TypeNode, print_ast

from router.merged_schema import MergedArgument, MergedEnumValue, MergedField, MergedSchema, MergedType
from router.operation import Field, InlineFragment, Selection, parse_selection_set
from router.subgraph_schema import (
    Applied,
    SubgraphField,
    SubgraphSchema,
    SubgraphSchemaError,
    SubgraphType,
)
from router.supergraph_printer import print_supergraph

BUILT_IN_SCALARS = frozenset({"Int", "Float", "String", "Boolean", "ID"})


@dataclass(frozen=True)
class SubgraphDef:
    name: str
    url: str
    sdl: str


class CompositionError(Exception):
    """Composition failed; `problems` lists every reason, one sentence each."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("Composition failed:\n" + "\n".join(f"- {p}" for p in self.problems))


# ---------------------------------------------------------------- entry points


def compose(subgraphs: list[SubgraphDef]) -> str:
    """The supergraph SDL for `subgraphs`, or CompositionError listing every problem."""
    return print_supergraph(merge(subgraphs))


def merge(subgraphs: list[SubgraphDef]) -> MergedSchema:
    problems: list[str] = []
    names = [s.name for s in subgraphs]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f'subgraph name "{name}" is used more than once')
    schemas = []
    for definition in sorted(subgraphs, key=lambda s: s.name):
        try:
            schemas.append(SubgraphSchema.parse(definition.name, definition.url, definition.sdl))
        except SubgraphSchemaError as error:
            problems.append(str(error))
    if not subgraphs:
        problems.append("no subgraphs to compose")
    if problems:
        raise CompositionError(problems)
    merged = _Merger(schemas).merge()
    return merged


def graph_enum_values(names: list[str]) -> dict[str, str]:
    """join__Graph value per subgraph name: upper-cased, made a valid name, deduplicated."""
    values: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        value = re.sub(r"[^A-Za-z0-9_]", "_", name).upper() or "_"
        if value[0].isdigit():
            value = "_" + value
        candidate, n = value, 1
        while candidate in used:
            candidate, n = f"{value}_{n}", n + 1
        used.add(candidate)
        values[name] = candidate
    return values


# ---------------------------------------------------------------- type references


def _shape(node: TypeNode) -> tuple:
    """(named type, ((is_list, non_null), ...)) from the outside in."""
    levels = []
    while True:
        non_null = isinstance(node, NonNullTypeNode)
        if isinstance(node, NonNullTypeNode):
            node = node.type
        if isinstance(node, ListTypeNode):
            levels.append((True, non_null))
            node = node.type
        else:
            levels.append((False, non_null))
            assert isinstance(node, NamedTypeNode)
            return node.name.value, tuple(levels)


def _print_shape(named: str, levels: tuple) -> str:
    text = named
    for is_list, non_null in reversed(levels):
        if is_list:
            text = f"[{text}]"
        if non_null:
            text += "!"
    return text


def _merge_types(nodes: list[tuple[str, TypeNode]], output: bool) -> tuple[str | None, bool, str]:
    """(merged type or None when incompatible, all equal, explanation)."""
    shapes = [(graph, _shape(node)) for graph, node in nodes]
    first_graph, (named, levels) = shapes[0]
    printed = {_print_shape(*shape) for _, shape in shapes}
    for graph, (other_named, other_levels) in shapes[1:]:
        if other_named != named or [l[0] for l in other_levels] != [l[0] for l in levels]:
            why = (
                f'it has type "{_print_shape(named, levels)}" in subgraph "{first_graph}" '
                f'but type "{_print_shape(other_named, other_levels)}" in subgraph "{graph}"'
            )
            return None, False, why
    merged_levels = []
    for depth, (is_list, _) in enumerate(levels):
        flags = [shape[1][depth][1] for _, shape in shapes]
        merged_levels.append((is_list, all(flags) if output else any(flags)))
    return _print_shape(named, tuple(merged_levels)), len(printed) == 1, ""


# ---------------------------------------------------------------- the merge


class _Merger:
    def __init__(self, schemas: list[SubgraphSchema]):
        self.schemas = schemas
        self.by_name = {s.name: s for s in schemas}
        self.enum_values = graph_enum_values([s.name for s in schemas])
        self.problems: list[str] = []
        self.key_fields = {s.name: self._key_fields(s) for s in schemas}

    def merge(self) -> MergedSchema:
        roots: dict[str, str] = {}
        for kind in ("query", "mutation", "subscription"):
            if any(kind in s.roots for s in self.schemas):
                roots[kind] = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}[kind]
        type_names = sorted({name for s in self.schemas for name in s.types})
        enum_usage = self._enum_usage()
        merged_types = []
        for name in type_names:
            sources = [(s, s.types[name]) for s in self.schemas if name in s.types]
            merged = self._merge_type(name, sources, enum_usage.get(name, set()))
            if merged is not None:
                merged_types.append(merged)
        self._check_references(set(type_names))
        self._check_field_sets()
        query = next((t for t in merged_types if t.name == "Query"), None)
        if query is None or not query.fields:
            self.problems.append("no subgraph defines a query field: the supergraph would have no Query type")
        if self.problems:
            raise CompositionError(self.problems)
        graphs = [(self.enum_values[s.name], s.name, s.url) for s in self.schemas]
        return MergedSchema(graphs, roots, merged_types)

    # ------------------------------------------------------------ helpers

    def _graph(self, schema: SubgraphSchema) -> str:
        return self.enum_values[schema.name]

    def _key_fields(self, schema: SubgraphSchema) -> set[tuple[str, str]]:
        """(type, field) pairs selected by some @key in this subgraph: shareable by definition."""
        found: set[tuple[str, str]] = set()
        for subgraph_type in schema.types.values():
            for fields, _ in subgraph_type.keys:
                try:
                    selections = parse_selection_set(fields)
                except GraphQLError:
                    continue
                self._collect_field_set(schema, subgraph_type.name, selections, found)
        return found

    def _collect_field_set(self, schema, type_name, selections, found) -> None:
        for selection in selections:
            if isinstance(selection, InlineFragment):
                self._collect_field_set(schema, selection.type_condition or type_name, selection.selections, found)
                continue
            found.add((type_name, selection.name))
            subgraph_type = schema.types.get(type_name)
            field_def = subgraph_type.fields.get(selection.name) if subgraph_type else None
            if field_def is not None and selection.selections:
                self._collect_field_set(schema, _shape(field_def.type)[0], selection.selections, found)

    def _enum_usage(self) -> dict[str, set[str]]:
        usage: dict[str, set[str]] = {}
        for schema in self.schemas:
            for subgraph_type in schema.types.values():
                for f in subgraph_type.fields.values():
                    position = "input" if subgraph_type.kind == "INPUT_OBJECT" else "output"
                    usage.setdefault(_shape(f.type)[0], set()).add(position)
                    for argument in f.arguments.values():
                        usage.setdefault(_shape(argument.type)[0], set()).add("input")
        return usage

    # ------------------------------------------------------------ types

    def _merge_type(self, name: str, sources: list[tuple[SubgraphSchema, SubgraphType]], usage: set[str]):
        kinds = {t.kind for _, t in sources}
        if len(kinds) > 1:
            described = ", ".join(f'{t.kind.lower().replace("_", " ")} in subgraph "{s.name}"' for s, t in sources)
            self.problems.append(f'type "{name}" has different kinds across subgraphs: {described}')
            return None
        kind = sources[0][1].kind
        merged = MergedType(name, kind)
        merged.description = next((t.description for _, t in sources if t.description is not None), None)
        for schema, subgraph_type in sources:
            _merge_applied(merged.applied, subgraph_type.applied)
            graph = self._graph(schema)
            if kind in ("OBJECT", "INTERFACE") and subgraph_type.keys:
                for fields, resolvable in subgraph_type.keys:
                    join: dict[str, Any] = {"graph": graph, "key": fields}
                    if subgraph_type.extension:
                        join["extension"] = True
                    if not resolvable:
                        join["resolvable"] = False
                    merged.join_types.append(join)
            else:
                join = {"graph": graph}  # typed above
                if kind in ("OBJECT", "INTERFACE") and subgraph_type.extension and name not in ("Query", "Mutation", "Subscription"):
                    join["extension"] = True
                merged.join_types.append(join)
        if kind in ("OBJECT", "INTERFACE"):
            self._merge_interfaces(merged, sources)
            self._merge_fields(merged, sources)
        elif kind == "UNION":
            for schema, subgraph_type in sources:
                for member in subgraph_type.members:
                    if member not in merged.members:
                        merged.members.append(member)
                    merged.union_members.append((self._graph(schema), member))
        elif kind == "ENUM":
            self._merge_enum(merged, sources, usage)
        elif kind == "INPUT_OBJECT":
            self._merge_input(merged, sources)
        return merged

    def _merge_interfaces(self, merged: MergedType, sources) -> None:
        for schema, subgraph_type in sources:
            for interface in subgraph_type.interfaces:
                if interface not in merged.interfaces:
                    merged.interfaces.append(interface)
                merged.implements.append((self._graph(schema), interface))

    def _merge_enum(self, merged: MergedType, sources, usage: set[str]) -> None:
        value_names: list[str] = []
        for _, subgraph_type in sources:
            for value in subgraph_type.values:
                if value not in value_names:
                    value_names.append(value)
        in_all = [v for v in value_names if all(v in t.values for _, t in sources)]
        if usage == {"input"}:
            kept = in_all
            if not kept:
                self.problems.append(
                    f'enum "{merged.name}" is used only as an input type and its subgraphs share no value: '
                    "the merged enum would be empty"
                )
        else:
            kept = value_names
            if "input" in usage:
                for value in value_names:
                    if value not in in_all:
                        missing = [s.name for s, t in sources if value not in t.values]
                        self.problems.append(
                            f'enum "{merged.name}" is used as both input and output type, but value "{value}" '
                            f"is not defined in every subgraph that defines the enum (missing in "
                            + ", ".join(f'"{m}"' for m in missing)
                            + ")"
                        )
        for value in kept:
            entry = MergedEnumValue(value)
            for schema, subgraph_type in sources:
                found = subgraph_type.values.get(value)
                if found is None:
                    continue
                entry.graphs.append(self._graph(schema))
                if entry.description is None:
                    entry.description = found.description
                _merge_applied(entry.applied, found.applied)
            merged.values.append(entry)

    def _merge_input(self, merged: MergedType, sources) -> None:
        for name in _names_in_order(subgraph_type.fields for _, subgraph_type in sources):
            entry = self._merge_input_value(
                f'input field "{merged.name}.{name}"',
                present=[(s, t.fields[name]) for s, t in sources if name in t.fields],
                missing=[s.name for s, t in sources if name not in t.fields],
                make=lambda merged_type, name=name: MergedField(name, merged_type),
                hint=": an input type keeps only the fields every subgraph defines",
            )
            if entry is not None:
                merged.fields.append(entry)

    def _merge_input_value(self, label: str, *, present, missing: list[str], make, hint: str = ""):
        """Input fields and arguments merge alike: kept only where every subgraph defines
        them (a required one missing somewhere is an error), with a type every subgraph
        accepts as input; descriptions, defaults and directives gathered from all."""
        if missing:
            required_in = [s.name for s, v in present if isinstance(v.type, NonNullTypeNode) and v.default_value is None]
            if required_in:
                self.problems.append(
                    f'{label} is required in subgraph "{required_in[0]}" but missing in '
                    + ", ".join(f'subgraph "{m}"' for m in missing)
                    + hint
                )
            return None
        merged_type, _, why = _merge_types([(s.name, v.type) for s, v in present], output=False)
        if merged_type is None:
            self.problems.append(f"type of {label} is incompatible across subgraphs: {why}")
            return None
        entry = make(merged_type)
        for _, value in present:
            if entry.description is None:
                entry.description = value.description
            if entry.default_value is None and value.default_value is not None:
                entry.default_value = print_ast(value.default_value)
            _merge_applied(entry.applied, value.applied)
        return entry

    # ------------------------------------------------------------ fields

    def _merge_fields(self, merged: MergedType, sources) -> None:
        names: list[str] = []
        for _, subgraph_type in sources:
            for name in subgraph_type.fields:
                if name not in names:
                    names.append(name)
        for name in names:
            entry = self._merge_field(merged, sources, name)
            if entry is not None:
                merged.fields.append(entry)

    def _merge_field(self, merged: MergedType, sources, name: str) -> MergedField | None:
        coordinate = f"{merged.name}.{name}"
        present: list[tuple[SubgraphSchema, SubgraphType, SubgraphField]] = [
            (s, t, t.fields[name]) for s, t in sources if name in t.fields
        ]
        overridden: dict[str, str] = {}  # subgraph -> "unused" | "used"
        for schema, _, f in present:
            if f.override is None:
                continue
            if f.override == schema.name:
                self.problems.append(f'field "{coordinate}" in subgraph "{schema.name}" cannot @override itself')
                continue
            source = next((p for p in present if p[0].name == f.override), None)
            if source is None:
                continue
            used = (merged.name, name) in self.key_fields[source[0].name] or self._used_by_requires(source[0], merged.name, name)
            overridden[source[0].name] = "used" if used else "unused"

        active = [p for p in present if overridden.get(p[0].name) != "unused"]
        resolving = [p for p in active if not self._is_external(p[0], merged.name, p[2]) and overridden.get(p[0].name) != "used"]
        if not resolving and merged.kind == "OBJECT":
            self.problems.append(
                f'field "{coordinate}" is marked @external in every subgraph that defines it '
                + "(" + ", ".join(f'"{s.name}"' for s, _, _ in present) + "): no subgraph resolves it"
            )
            return None
        if merged.kind == "OBJECT" and len(resolving) > 1:
            unshared = [s.name for s, t, f in resolving if not self._is_shareable(s, t, f)]
            if unshared:
                self.problems.append(
                    f'non-shareable field "{coordinate}" is resolved by several subgraphs: it is resolved by '
                    + " and ".join(f'"{s.name}"' for s, _, _ in resolving)
                    + " and not marked @shareable in "
                    + " and ".join(f'"{n}"' for n in unshared)
                )
        merged_type, all_equal, why = _merge_types([(s.name, f.type) for s, _, f in active], output=True)
        if merged_type is None:
            self.problems.append(f'type of field "{coordinate}" is incompatible across subgraphs: {why}')
            return None
        entry = MergedField(name, merged_type)
        for _, _, f in active:
            if entry.description is None:
                entry.description = f.description
            _merge_applied(entry.applied, f.applied)
        entry.arguments = self._merge_arguments(coordinate, active)

        needs_join = not all_equal or bool(overridden) or any(
            self._is_external(s, merged.name, f) or f.requires or f.provides for s, _, f in active
        ) or len(active) < len(sources)
        if needs_join:
            for schema, _, f in present:
                state = overridden.get(schema.name)
                if state == "unused":
                    continue
                join: dict = {"graph": self._graph(schema)}
                if f.requires:
                    join["requires"] = f.requires
                if f.provides:
                    join["provides"] = f.provides
                if not all_equal:
                    join["type"] = print_ast(f.type)
                if self._is_external(schema, merged.name, f):
                    join["external"] = True
                if f.override:
                    join["override"] = f.override
                if state == "used":
                    join["usedOverridden"] = True
                entry.joins.append(join)
        return entry

    def _merge_arguments(self, coordinate: str, active) -> list[MergedArgument]:
        arguments = []
        for name in _names_in_order(f.arguments for _, _, f in active):
            entry = self._merge_input_value(
                f'argument "{coordinate}({name}:)"',
                present=[(s, f.arguments[name]) for s, _, f in active if name in f.arguments],
                missing=[s.name for s, _, f in active if name not in f.arguments],
                make=lambda merged_type, name=name: MergedArgument(name, merged_type),
            )
            if entry is not None:
                arguments.append(entry)
        return arguments

    def _is_external(self, schema: SubgraphSchema, type_name: str, f: SubgraphField) -> bool:
        if not f.external:
            return False
        if not schema.federation2:
            # Fed 1 marks the key fields of `extend type` @external although it resolves them.
            subgraph_type = schema.types.get(type_name)
            if subgraph_type is not None and (type_name, f.name) in self.key_fields[schema.name]:
                return False
        return True

    def _is_shareable(self, schema: SubgraphSchema, subgraph_type: SubgraphType, f: SubgraphField) -> bool:
        return (
            not schema.federation2
            or f.shareable
            or subgraph_type.shareable
            or (subgraph_type.name, f.name) in self.key_fields[schema.name]
        )

    def _used_by_requires(self, schema: SubgraphSchema, type_name: str, field_name: str) -> bool:
        subgraph_type = schema.types.get(type_name)
        if subgraph_type is None:
            return False
        for f in subgraph_type.fields.values():
            if f.requires:
                try:
                    if any(isinstance(s, Field) and s.name == field_name for s in parse_selection_set(f.requires)):
                        return True
                except GraphQLError:
                    pass
        return False

    # ------------------------------------------------------------ checks

    def _check_references(self, known: set[str]) -> None:
        for schema in self.schemas:
            for subgraph_type in schema.types.values():
                for f in subgraph_type.fields.values():
                    named = _shape(f.type)[0]
                    if named not in known and named not in BUILT_IN_SCALARS:
                        self.problems.append(
                            f'field "{subgraph_type.name}.{f.name}" in subgraph "{schema.name}" has unknown type "{named}"'
                        )
                    for argument in f.arguments.values():
                        named = _shape(argument.type)[0]
                        if named not in known and named not in BUILT_IN_SCALARS:
                            self.problems.append(
                                f'argument "{subgraph_type.name}.{f.name}({argument.name}:)" in subgraph '
                                f'"{schema.name}" has unknown type "{named}"'
                            )
                for interface in subgraph_type.interfaces:
                    target = schema.types.get(interface)
                    if target is None or target.kind != "INTERFACE":
                        self.problems.append(
                            f'type "{subgraph_type.name}" in subgraph "{schema.name}" implements "{interface}", '
                            "which is not an interface there"
                        )

    def _check_field_sets(self) -> None:
        for schema in self.schemas:
            for subgraph_type in schema.types.values():
                for fields, _ in subgraph_type.keys:
                    why = self._field_set_problem(schema, subgraph_type.name, fields)
                    if why:
                        self.problems.append(
                            f'@key(fields: "{fields}") on type "{subgraph_type.name}" in subgraph "{schema.name}" is invalid: {why}'
                        )
                for f in subgraph_type.fields.values():
                    coordinate = f"{subgraph_type.name}.{f.name}"
                    if f.requires:
                        why = self._field_set_problem(schema, subgraph_type.name, f.requires, need_external=schema.federation2)
                        if why:
                            self.problems.append(
                                f'@requires(fields: "{f.requires}") on field "{coordinate}" in subgraph "{schema.name}" is invalid: {why}'
                            )
                    if f.provides:
                        why = self._field_set_problem(schema, _shape(f.type)[0], f.provides)
                        if why:
                            self.problems.append(
                                f'@provides(fields: "{f.provides}") on field "{coordinate}" in subgraph "{schema.name}" is invalid: {why}'
                            )

    def _field_set_problem(self, schema: SubgraphSchema, type_name: str, fields: str, need_external: bool = False) -> str:
        try:
            selections = parse_selection_set(fields)
        except GraphQLError as error:
            return f"it does not parse ({error.message})"
        if not selections:
            return "it selects no field"
        return self._selection_problem(schema, type_name, selections, need_external)

    def _selection_problem(self, schema, type_name: str, selections: tuple[Selection, ...], need_external: bool) -> str:
        subgraph_type = schema.types.get(type_name)
        if subgraph_type is None:
            return f'type "{type_name}" is not defined in that subgraph'
        for selection in selections:
            if isinstance(selection, InlineFragment):
                why = self._selection_problem(schema, selection.type_condition or type_name, selection.selections, need_external)
                if why:
                    return why
                continue
            if selection.name == "__typename":
                continue
            f = subgraph_type.fields.get(selection.name)
            if f is None:
                return f'field "{type_name}.{selection.name}" does not exist in that subgraph'
            if need_external and not f.external and not selection.selections:
                return f'field "{type_name}.{selection.name}" is not marked @external'
            if selection.selections:
                why = self._selection_problem(schema, _shape(f.type)[0], selection.selections, need_external and not f.external)
                if why:
                    return why
        return ""


def _merge_applied(into: Applied, more: Applied) -> None:
    into.inaccessible = into.inaccessible or more.inaccessible
    for tag in more.tags:
        if tag not in into.tags:
            into.tags.append(tag)
    if into.deprecated is None:
        into.deprecated = more.deprecated
    for directive in more.other:
        if all(print_ast(directive) != print_ast(d) for d in into.other):
            into.other.append(directive)


def _names_in_order(groups) -> list[str]:
    """Every name in the groups, once, in first-seen order (printing order stays stable)."""
    names: dict[str, None] = {}
    for group in groups:
        names.update(dict.fromkeys(group))
    return list(names)
