"""Query planning: supergraph + operation -> QueryPlan. Pure: no I/O, no request state.

The planner walks the operation and puts every field in a *fetch group* (one future
subgraph request). Root fields go to a group of the subgraph that resolves them. Below a
field, a selection stays in the parent's group when that subgraph can resolve it (the
cheapest plan: no extra request); otherwise the planner *jumps*: it adds `__typename` and a
@key's fields to the parent group and opens (or reuses) an entity group of a subgraph that
resolves the field, at the same response path, fed through `_entities`. Key fields are
planned like any other selection, so a key the current subgraph cannot provide is fetched
through another jump first (the new group then depends on that one too).

Groups form a tree (each jump's group is a child of the group it jumped from) with extra
dependency edges; the plan nests children after their parent in Parallel, and a group that
waits for more than its ancestors is placed after the subtree that holds all it waits for.

Abstract types: a field the current subgraph resolves on the interface itself stays on the
interface; otherwise it is planned once per possible runtime type (`... on Book {...}`),
so each type can jump to its own subgraph. `__typename` is added under abstract fields so
the executor and the response shaper know each object's runtime type.

@requires: a field with requirements is always fetched by a jump (to its own subgraph if
need be) whose representation carries the required fields next to the key; they are
planned in the parent group like key fields (jumping for those it lacks). Fields of one
entity fetch share its representation unless their requirements clash. @provides: below a
providing field, the provided (@external) fields count as resolvable in that subgraph.

@interfaceObject: a subgraph that has an interface as an object type knows its objects
by the interface's name (the executor renames representations for it) and cannot tell
their runtime type: when the client needs it, or fragments on object types, the planner
jumps to a subgraph that has the interface itself.

When no key leads to a subgraph that resolves a field, the planner re-enters higher up:
at the nearest enclosing entity that subgraph has a key for, or at a shareable root field.
A field the client selected on an interface re-enters whole above the interface (one
subgraph answers it for every runtime type, or the plan fails); only the client's own
type fragments are answered per type.

Partial unions: below fields that several subgraphs can resolve, only the union members
all of them have are planned (a shareable field answers alike in each).

Growth points: progressive @override labels, cost-based choice among several candidate
subgraphs, @defer."""
from __future__ import annotations

import re

from graphql import DocumentNode, print_ast

from router.errors import PlanningError
from router.operation import (
    Field,
    InlineFragment,
    Operation,
    Selection,
    normalize,
    print_selections,
    print_variable_definitions,
    selection_variables,
    typed_alias,
)
from router.plan import FetchNode, FlattenNode, PlanNode, QueryPlan, parallel, sequence
from router.supergraph import Key, Supergraph

INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
TYPENAME = Field("__typename")
MAX_KEY_HOPS = 2


# ---------------------------------------------------------------- selection builders


class SelectionSetBuilder:
    """A selection set under construction for one fetch group; merges repeated fields.

    `reserved` holds the client's response keys at this object level (shared with the
    fragments on the same object): a key field the planner adds under a response key the
    client uses for something else is aliased, so the client's value is never overwritten."""

    __slots__ = ("items", "typename", "reserved", "field_types")

    def __init__(self, reserved: dict[str, tuple] | None = None, field_types: dict[str, str] | None = None) -> None:
        self.items: dict[tuple, FieldBuilder | FragmentBuilder] = {}
        self.typename = False
        self.reserved: dict[str, tuple] = reserved if reserved is not None else {}
        # Response key -> the field's type in this subgraph, for the whole object level:
        # fragments on different types may not give one response key two types.
        self.field_types: dict[str, str] = field_types if field_types is not None else {}

    def add_typename(self) -> None:
        self.typename = True

    def reserve(self, selections: tuple[Selection, ...]) -> None:
        for selection in selections:
            if isinstance(selection, Field):
                self.reserved.setdefault(selection.response_key, _signature(selection))
            else:
                self.reserve(selection.selections)

    def field(self, field: Field) -> "FieldBuilder":
        if field.name == "__typename" and field.alias is None and not field.directives:
            self.typename = True
            return _TYPENAME_BUILDER
        key = ("f", field.response_key, tuple(print_ast(d) for d in field.directives))
        found = self.items.get(key)
        if found is None:
            found = self.items[key] = FieldBuilder(field)
        return found  # type: ignore[return-value]

    def internal_field(self, field: Field) -> "FieldBuilder":
        """A field the planner needs (a key): under its own name unless the client uses
        that response key for another field, else under a reserved alias."""
        signature = _signature(field)
        taken = self.reserved.get(field.name)
        existing = self.items.get(("f", field.name, ()))
        if (taken is None or taken == signature) and (existing is None or _signature(existing.template) == signature):  # type: ignore[union-attr]  # an "f" key holds a FieldBuilder
            return self.field(Field(field.name, None, field.arguments))
        n = 0
        while True:
            alias = f"_key_{field.name}" + (f"_{n}" if n else "")
            existing = self.items.get(("f", alias, ()))
            if alias not in self.reserved and (existing is None or _signature(existing.template) == signature):  # type: ignore[union-attr]  # as above
                return self.field(Field(field.name, alias, field.arguments))
            n += 1

    def fragment(self, type_condition: str | None, directives: tuple = ()) -> "SelectionSetBuilder":
        key = ("i", type_condition, tuple(print_ast(d) for d in directives))
        found = self.items.get(key)
        if found is None:
            # Same object, same response keys: the fragment shares `reserved`.
            found = self.items[key] = FragmentBuilder(type_condition, directives, self.reserved, self.field_types)
        return found.selections  # type: ignore[return-value]  # an "i" key holds a FragmentBuilder

    def build(self) -> tuple[Selection, ...]:
        built: list[Selection] = [TYPENAME] if self.typename else []
        built.extend(item.build() for item in self.items.values())
        return tuple(built)

    def __bool__(self) -> bool:
        return self.typename or bool(self.items)


def _asks_runtime_type(selections: tuple[Selection, ...], interface: str) -> bool:
    """Whether a selection on `interface` reads `__typename` or has fragments on other types."""
    for selection in selections:
        if isinstance(selection, Field):
            if selection.name == "__typename":
                return True
        elif selection.type_condition not in (None, interface) or _asks_runtime_type(selection.selections, interface):
            return True
    return False


def _conflicts(shape: tuple[Selection, ...], extra: tuple[Selection, ...]) -> bool:
    """Whether `extra` names a field of `shape` differently (other arguments or fields)."""
    printed = {s.name: print_selections((s,)) for s in shape if isinstance(s, Field)}
    return any(
        isinstance(s, Field) and s.name in printed and printed[s.name] != print_selections((s,)) for s in extra
    )


def _signature(field: Field) -> tuple:
    return (field.name, tuple(print_ast(a) for a in field.arguments))


class FieldBuilder:
    __slots__ = ("template", "selections")

    def __init__(self, template: Field):
        self.template = template
        self.selections: SelectionSetBuilder | None = None

    def sub(self) -> SelectionSetBuilder:
        if self.selections is None:
            self.selections = SelectionSetBuilder()
        return self.selections

    def build(self) -> Field:
        if not self.selections:
            # A composite field of which this subgraph resolves nothing the client asked
            # for (e.g. only fragments on types it does not have) still needs a selection.
            return self.template if not self.template.selections else self.template.with_selections((TYPENAME,))
        return self.template.with_selections(self.selections.build())


_TYPENAME_BUILDER = FieldBuilder(TYPENAME)


class FragmentBuilder:
    __slots__ = ("type_condition", "directives", "selections")

    def __init__(self, type_condition: str | None, directives: tuple, reserved=None, field_types=None):
        self.type_condition = type_condition
        self.directives = directives
        self.selections = SelectionSetBuilder(reserved, field_types)

    def build(self) -> InlineFragment:
        return InlineFragment(self.type_condition, self.selections.build() or (TYPENAME,), self.directives)


# ---------------------------------------------------------------- fetch groups


class FetchGroup:
    """One future subgraph request, and where its answer goes."""

    def __init__(self, index: int, graph: str, path: tuple[str, ...], parent: "FetchGroup | None"):
        self.index = index
        self.graph = graph
        self.path = path
        self.parent = parent
        self.selection = SelectionSetBuilder()
        # Entity groups: the representation each entity type is sent with.
        self.requires: dict[str, tuple[Selection, ...]] = {}
        self.key_shapes: dict[str, str] = {}  # each representation's key part, printed
        # Entity groups: per entity type, the parent's type and selection its
        # representation is built in (a sibling fetch can be built there as well).
        self.origins: dict[str, tuple[str, "SelectionSetBuilder"]] = {}
        self.dependencies: set[FetchGroup] = set()
        self.children: list[FetchGroup] = []
        self.after: list[FetchGroup] = []  # placed after this group's whole subtree

    @property
    def is_entity(self) -> bool:
        return self.parent is not None

    def entity_selection(self, type_name: str) -> SelectionSetBuilder:
        return self.selection.fragment(type_name)

    def chain(self) -> list["FetchGroup"]:
        chain: list[FetchGroup] = []
        group: FetchGroup | None = self
        while group is not None:
            chain.append(group)
            group = group.parent
        return chain

    def __repr__(self) -> str:
        return f"FetchGroup({self.index}, {self.graph}, {'.'.join(self.path)})"

    def __hash__(self) -> int:
        return self.index

    def __eq__(self, other: object) -> bool:
        return self is other


# ---------------------------------------------------------------- the planner


def plan(supergraph: Supergraph, document: DocumentNode, operation_name: str | None = None) -> QueryPlan:
    """The plan for one operation of a validated document."""
    return QueryPlanner(supergraph).plan(normalize(document, operation_name))


class QueryPlanner:
    def __init__(self, supergraph: Supergraph):
        self.sg = supergraph

    def plan(self, operation: Operation) -> QueryPlan:
        root_type = self.sg.root_types.get(operation.kind)
        if root_type is None:
            raise PlanningError(f"The schema has no {operation.kind} type.")
        fields = list(_root_fields(operation.selections, ()))
        fields = [(f, w) for f, w in fields if f.name not in INTROSPECTION_FIELDS and f.name != "__typename"]
        counter = [0]
        if operation.kind == "mutation":
            # Mutations run in the client's order: one fetch per run of fields of one subgraph.
            runs: list[tuple[str, list]] = []
            for item in fields:
                graph = self._root_graph(root_type, item[0], [runs[-1][0]] if runs else [])
                if runs and runs[-1][0] == graph:
                    runs[-1][1].append(item)
                else:
                    runs.append((graph, [item]))
            nodes = [
                _Planning(self.sg, operation, root_type, counter).run(run, lambda field, chosen, graph=graph: graph)
                for graph, run in runs
            ]
            return QueryPlan(sequence(nodes), operation.kind)
        node = _Planning(self.sg, operation, root_type, counter).run(
            fields, lambda field, chosen: self._root_graph(root_type, field, chosen)
        )
        return QueryPlan(node, operation.kind)

    def _root_graph(self, root_type: str, field: Field, chosen: list[str]) -> str:
        info = self.sg.field(root_type, field.name)
        if info is None or not info.graphs:
            raise PlanningError(f'No subgraph resolves the field "{root_type}.{field.name}".')
        if len(info.graphs) == 1:
            return info.graphs[0]
        for graph in chosen:
            if info.resolvable_in(graph):
                return graph
        scored = [(-coverage(self.sg, graph, info.named_type, field.selections), i, graph) for i, graph in enumerate(info.graphs)]
        return min(scored)[2]


def _root_fields(selections: tuple[Selection, ...], wrappers: tuple[InlineFragment, ...]):
    """Root fields in order, with the inline fragments (directives) that enclose each."""
    for selection in selections:
        if isinstance(selection, Field):
            yield selection, wrappers
        elif selection.directives:
            yield from _root_fields(selection.selections, wrappers + (selection,))
        else:
            yield from _root_fields(selection.selections, wrappers)


def coverage(sg: Supergraph, graph: str, type_name: str, selections: tuple[Selection, ...]) -> int:
    """How many of the selected fields `graph` resolves without a jump (a cheap preference)."""
    info = sg.types.get(type_name)
    if info is None or not info.is_composite:
        return 0
    total = 0
    for selection in selections:
        if isinstance(selection, InlineFragment):
            total += coverage(sg, graph, selection.type_condition or type_name, selection.selections)
            continue
        field = info.fields.get(selection.name)
        if field is not None and field.resolvable_in(graph):
            total += 1 + coverage(sg, graph, field.named_type, selection.selections)
    return total


def reach(sg: Supergraph, graph: str, type_name: str, selections: tuple[Selection, ...]) -> int:
    """How many of the selected fields `graph` does not resolve but holds a key for, so
    that one jump from it resolves them (the tie-break after `coverage`)."""
    info = sg.types.get(type_name)
    if info is None or not info.is_composite:
        return 0
    total = 0
    for selection in selections:
        if isinstance(selection, InlineFragment):
            total += reach(sg, graph, selection.type_condition or type_name, selection.selections)
            continue
        field = info.fields.get(selection.name)
        if field is None:
            continue
        if field.resolvable_in(graph):
            total += reach(sg, graph, field.named_type, selection.selections)
        elif any(
            all(isinstance(k, Field) and (k.name == "__typename" or (info.fields.get(k.name) is not None and info.fields[k.name].resolvable_in(graph))) for k in key.selections)
            for target in field.graphs
            for key in sg.keys(type_name, target, resolvable_only=True)
        ):
            total += 1
    return total


class _Planning:
    """The groups of one plan (or of one mutation run) and how they are built."""

    def __init__(self, sg: Supergraph, operation: Operation, root_type: str, counter: list[int]):
        self.sg = sg
        self.operation = operation
        self.root_type = root_type
        self.counter = counter
        self.groups: list[FetchGroup] = []
        self.roots: dict[str, FetchGroup] = {}
        self.entity_groups: dict[tuple, FetchGroup] = {}
        self.touched: set[FetchGroup] | None = None
        self.jump_depth = 0
        # The fields above the one being planned, outermost first: (group, builder,
        # parent type, field, path) each. A field no key can reach re-enters through them.
        self.ancestry: list[tuple] = []
        # Fields the planner spelled out per runtime type (the client selected them on an
        # interface): (ancestry depth, the interface) each, innermost last. Above that depth
        # the client's field is one path, so a re-entry there takes it whole (`_reenter`).
        self.exploded: list[tuple[int, str]] = []
        # Re-entries under way, so two subgraphs that each lack part of a field do not hand
        # it back and forth: (ancestry depth, type, field, target) each.
        self.reentering: set[tuple] = set()

    def _new_group(self, graph: str, path: tuple[str, ...], parent: FetchGroup | None) -> FetchGroup:
        group = FetchGroup(len(self.groups), graph, path, parent)
        self.groups.append(group)
        if parent is not None:
            parent.children.append(group)
            group.dependencies.add(parent)
        return group

    def run(self, fields: list, choose) -> PlanNode | None:
        chosen: list[str] = []
        for field, wrappers in fields:
            graph = choose(field, chosen)
            if graph not in chosen:
                chosen.append(graph)
            group = self.roots.get(graph)
            if group is None:
                group = self.roots[graph] = self._new_group(graph, (), None)
                group.selection.reserve(self.operation.selections)
            builder = group.selection
            for wrapper in wrappers:
                # Only conditions matter at the root; the subgraph may name its root type differently.
                builder = builder.fragment(None, wrapper.directives)
            self._plan_field(group, builder, self.root_type, field, ())
        return self._to_node()

    # ------------------------------------------------------------ walking the operation

    def _plan_selections(self, group, builder, parent_type: str, selections, path, provided=None) -> None:
        for selection in selections:
            if isinstance(selection, Field):
                self._plan_field(group, builder, parent_type, selection, path, provided)
            else:
                self._plan_fragment(group, builder, parent_type, selection, path, provided)

    def _plan_field(
        self, group: FetchGroup, builder: SelectionSetBuilder, parent_type: str, field: Field, path,
        provided: tuple[Selection, ...] | None = None, requires_met: bool = False,
    ) -> None:
        """`provided`: what the enclosing field's @provides lets `group.graph` resolve at this
        level (None: nothing). `requires_met`: `group` is the fetch whose representation
        carries the field's @requires, so the field may be resolved here."""
        if field.name == "__typename":
            builder.field(field)
            self._touch(group)
            return
        parent = self.sg.types[parent_type]
        info = parent.fields.get(field.name)
        if info is None:
            raise PlanningError(f'The type "{parent_type}" has no field "{field.name}".')
        provided_here = self._provided(provided, parent_type, field.name) if provided is not None else None
        native = info.resolvable_in(group.graph)
        if native and parent.is_abstract:
            # On the interface only if every object type here resolves it here too (an
            # @override can move one type's field away).
            native = all(
                (found := self.sg.types[runtime].fields.get(field.name)) is None or found.resolvable_in(group.graph)
                for runtime in self.sg.possible_types_in(group.graph, parent_type)
            )
        needs_requires = native and bool(info.required_selections(group.graph)) and not requires_met
        if (native or provided_here is not None) and not needs_requires:
            self._touch(group)
            if builder.field_types.setdefault(field.response_key, self._shape_of(info, group.graph)) != self._shape_of(info, group.graph):
                # Another fragment here has this response key with another type in this
                # subgraph (e.g. ID! and ID): the subgraph would refuse the operation.
                field = Field(field.name, typed_alias(parent_type, field.response_key), field.arguments, field.directives, field.selections)
            added = builder.field(field)
            if field.selections:
                sub = added.sub()
                sub.reserve(field.selections)
                if self.sg.types[info.named_type].is_abstract:
                    sub.add_typename()
                depth = self.sg.field_list_depth(parent_type, field.name)
                sub_path = path + (field.response_key,) + ("@",) * depth
                inner = info.provided_selections(group.graph) if native else ()
                self.ancestry.append((group, builder, parent_type, field, path))
                local_type = info.named_type_in(group.graph)
                try:
                    self._plan_selections(
                        group, sub, local_type if local_type in self.sg.types else info.named_type,
                        field.selections, sub_path, inner or provided_here,
                    )
                finally:
                    self.ancestry.pop()
                if self.sg.is_interface_object_in(info.named_type, group.graph) and _asks_runtime_type(
                    field.selections, info.named_type
                ):
                    # This subgraph types the objects as the interface: their runtime type,
                    # when the client needs it, comes from a subgraph that has the interface.
                    owner = self._owner_group(group, sub, info.named_type, sub_path)
                    owner.entity_selection(info.named_type).add_typename()
            return
        interface_object = self.sg.is_interface_object_in(parent_type, group.graph)
        if parent.is_abstract and not native and not interface_object and self.sg.possible_types_in(group.graph, parent_type):
            # Not resolvable on the interface here: plan it for each type this subgraph can return.
            builder.add_typename()
            self.exploded.append((len(self.ancestry), parent_type))
            try:
                for runtime in self.sg.possible_types_in(group.graph, parent_type):
                    self._plan_field(group, builder.fragment(runtime), runtime, field, path, provided)
            finally:
                self.exploded.pop()
            return
        # A jump: to another subgraph, or (@requires) to the same one once the required
        # fields are fetched; they travel in the representation next to the key.
        try:
            target, key = self._choose_jump(group.graph, parent_type, field, provided)
        except PlanningError:
            if self._reenter(parent_type, field):
                return
            raise
        entity_type = self.sg.entity_type_in(parent_type, target)
        required = self.sg.types[entity_type].fields[field.name].required_selections(target)
        child = self._entity_group(group, builder, parent_type, target, key, path, required, provided)
        self._plan_field(child, child.entity_selection(entity_type), entity_type, field, path, requires_met=True)

    def _reenter(self, parent_type: str, field: Field) -> bool:
        """No key of `parent_type` leads to a subgraph that resolves `field`: enter such a
        subgraph higher up instead, at the nearest enclosing entity it has a key for (or at
        the root, for a shareable root field), and plan from there the chain of fields down
        to `field`, each of which it must resolve itself. The answers merge at the same
        response paths. True when planned.

        Entered above a field the planner spelled out per runtime type, the client's field
        on the interface goes whole: the subgraph entered there resolves it for every
        runtime type or the plan fails, as a path through one subgraph's field does
        (Apollo cannot plan it either). Only the client's own fragments pick a subgraph per
        type."""
        ancestry, exploded = self.ancestry, self.exploded
        for start in range(len(ancestry) - 1, -1, -1):
            group, builder, type_name, _, path = ancestry[start]
            chain = list(ancestry[start:])
            leaf_type = parent_type
            for depth, interface in exploded:
                if depth <= start:
                    continue  # spelled out at or above the entry: each type enters on its own
                if depth == len(ancestry):
                    leaf_type = interface
                else:
                    frame = chain[depth - start]
                    chain[depth - start] = (frame[0], frame[1], interface, frame[3], frame[4])
            for target in self._reentry_targets(leaf_type, field):
                token = (start, leaf_type, field.name, target)
                if target == group.graph or token in self.reentering or not all(
                    self.sg.types[t].fields[f.name].resolvable_in(target) for _, _, t, f, _ in chain
                ):
                    continue
                selection: Selection = field
                inner_types = [frame[2] for frame in chain[1:]] + [leaf_type]
                for (_, _, t, f, _), inner_type in reversed(list(zip(chain, inner_types))):
                    named = self.sg.types[t].fields[f.name].named_type
                    selection = f.with_selections(
                        (selection,) if inner_type == named else (InlineFragment(inner_type, (selection,)),)
                    )
                if group.parent is None and type_name == self.root_type:
                    if self.operation.kind != "query":
                        continue
                    entry = self.roots.get(target)
                    if entry is None:
                        entry = self.roots[target] = self._new_group(target, (), None)
                        entry.selection.reserve(self.operation.selections)
                    entry_builder = entry.selection
                else:
                    # From this fetch, or, at an entity fetch's root, from where its own
                    # representation comes (a subgraph that only extends the entity may
                    # not resolve the key itself).
                    sources = [(group, builder, type_name)]
                    if path == group.path and (origin := group.origins.get(type_name)) is not None:
                        sources.append((group.parent, origin[1], origin[0]))
                    for source, source_builder, source_type in sources:  # noqa: B007 - used after the loop breaks
                        keys = [
                            (hops, order, key)
                            for order, key in enumerate(self.sg.keys(type_name, target, resolvable_only=True))
                            if (hops := self._key_hops(source.graph, source_type, key.selections, MAX_KEY_HOPS)) is not None
                        ]
                        if keys:
                            break
                    else:
                        continue
                    entry = self._entity_group(source, source_builder, source_type, target, min(keys, key=lambda k: k[:2])[2], path)
                    entry_builder = entry.entity_selection(type_name)
                self.ancestry = ancestry[:start]
                self.exploded = [e for e in exploded if e[0] <= start]
                self.reentering.add(token)
                try:
                    self._plan_field(entry, entry_builder, type_name, selection, path)  # type: ignore[arg-type]
                finally:
                    self.ancestry, self.exploded = ancestry, exploded
                    self.reentering.discard(token)
                return True
        return False

    def _reentry_targets(self, parent_type: str, field: Field) -> list[str]:
        """Subgraphs to re-enter for `field`: those resolving it, then those that can jump
        to one of them (a subgraph that holds the key the field's subgraph needs)."""
        direct = list(self.sg.types[parent_type].fields[field.name].graphs)
        relays = []
        for graph in self.sg.subgraphs:
            if graph in direct or parent_type not in self.sg.types or not self.sg.types[parent_type].in_graph(graph):
                continue
            try:
                self._choose_jump(graph, parent_type, field)
            except PlanningError:
                continue
            relays.append(graph)
        return direct + relays

    def _shape_of(self, info, graph: str) -> str:
        """The field's type in `graph` as GraphQL's "same response shape" rule compares it:
        list and non-null wrappers, and the named type only when it is a leaf."""
        join = info.joins.get(graph)
        printed = join.type if join is not None and join.type else info.type
        named = printed.replace("[", "").replace("]", "").replace("!", "").strip()
        if named in self.sg.types and self.sg.types[named].is_composite:
            return printed.replace(named, "*")
        return printed

    def _provided(self, provided: tuple[Selection, ...], type_name: str, name: str) -> tuple[Selection, ...] | None:
        """The provided sub-selection of field `name` of `type_name` in a @provides field set."""
        for selection in provided:
            if isinstance(selection, Field):
                if selection.name == name:
                    return selection.selections
            elif selection.type_condition in (None, type_name) or type_name in self.sg.possible_types(selection.type_condition):
                found = self._provided(selection.selections, type_name, name)
                if found is not None:
                    return found
        return None

    def _plan_fragment(self, group, builder, parent_type: str, fragment: InlineFragment, path, provided=None) -> None:
        condition = fragment.type_condition
        parent = self.sg.types[parent_type]
        if condition is None or condition == parent_type or parent.kind == "OBJECT":
            if condition is not None and condition != parent_type and parent_type not in self.sg.possible_types(condition):
                return  # the fragment can never apply here
            target = builder.fragment(None, fragment.directives) if fragment.directives else builder
            self._plan_selections(group, target, parent_type, fragment.selections, path, provided)
            return
        runtime_types = set(self.sg.possible_types(parent_type))
        if not runtime_types.intersection(self.sg.possible_types(condition)):
            return
        condition_info = self.sg.types[condition]
        if self.sg.is_interface_object_in(parent_type, group.graph) and not condition_info.in_graph(group.graph):
            # Only the interface's own subgraphs know its object types.
            owner = self._owner_group(group, builder, parent_type, path)
            self._plan_fragment(owner, owner.entity_selection(parent_type), parent_type, fragment, path, provided)
            return
        wanted = [t for t in self.sg.possible_types_in(group.graph, parent_type) if t in self.sg.possible_types(condition)]
        shared = self._shared_members(group.graph, parent_type) if parent.kind == "UNION" else None
        narrowed = wanted if shared is None else [t for t in wanted if t in shared]
        if not wanted and not self.sg.is_interface_object_in(parent_type, group.graph):
            return  # no object this subgraph returns here can match the fragment
        if not narrowed:
            return  # only members some subgraph that can resolve this path lacks
        local = self.sg.possible_types_in(group.graph, condition)
        if narrowed == wanted and condition_info.in_graph(group.graph) and all(t in local for t in wanted):
            target = builder.fragment(condition, fragment.directives)
            self._plan_selections(group, target, condition, fragment.selections, path, provided)
            return
        # The subgraph does not know the abstract condition, or not that all these types
        # belong to it, or only some of them are members here: spell it out per object type.
        for runtime in narrowed:
            target = builder.fragment(runtime, fragment.directives)
            self._plan_selections(group, target, runtime, fragment.selections, path, provided)

    def _shared_members(self, graph: str, union: str) -> set[str] | None:
        """The members of `union` that every subgraph able to resolve the path being
        planned (the innermost field of `ancestry`, of type `union`) has there; None when
        that field is not the union's.

        A field several subgraphs resolve must answer alike whichever of them the plan
        picks, so a member one of them cannot return is one the field never returns: a
        fragment on it is not planned, and its fields come back null (Hive Router and the
        federation-gateway-audit's partial-union-complex)."""
        if not self.ancestry:
            return None
        _, _, type_name, field, _ = self.ancestry[-1]
        info = self.sg.types[type_name].fields.get(field.name)
        if info is None or info.named_type != union:
            return None
        shared: set[str] | None = None
        for candidate in self._path_graphs() | {graph}:
            if not info.resolvable_in(candidate):
                continue
            members = set(self.sg.possible_types_in(candidate, info.named_type_in(candidate)))
            shared = members if shared is None else shared & members
        return shared

    def _path_graphs(self) -> set[str]:
        """The subgraphs that can resolve the chain of fields in `ancestry`: those of the
        root field, then at each field those of the previous level that resolve it too, and
        those entered there through a key when the parent is an entity; when none of the
        previous level resolves it, the ones a jump lands on."""
        found: set[str] | None = None
        for _, _, type_name, field, _ in self.ancestry:
            info = self.sg.types[type_name].fields.get(field.name)
            if info is None:
                continue
            here = set(info.graphs)
            if found is None:
                found = here
                continue
            sources = found
            found = {g for g in here if g in sources or self._enterable(sources, type_name, g)} or here
        return found or set()

    def _enterable(self, sources: set[str], type_name: str, target: str) -> bool:
        """Whether an object of `type_name` can be sent to `target` from one of `sources`."""
        keys = self.sg.keys(self.sg.entity_type_in(type_name, target), target, resolvable_only=True)
        return any(
            self._key_hops(source, type_name, key.selections, MAX_KEY_HOPS) is not None for key in keys for source in sources
        )

    def _touch(self, group: FetchGroup) -> None:
        if self.touched is not None:
            self.touched.add(group)

    # ------------------------------------------------------------ jumps

    def _choose_jump(self, graph: str, type_name: str, field: Field, provided=None) -> tuple[str, Key]:
        info = self.sg.types[type_name].fields[field.name]
        options = []
        for order, target in enumerate(info.graphs):
            for key_order, key in enumerate(self.sg.keys(self.sg.entity_type_in(type_name, target), target, resolvable_only=True)):
                hops = self._key_hops(graph, type_name, key.selections, MAX_KEY_HOPS, provided)
                if hops is None:
                    continue
                score = coverage(self.sg, target, info.named_type, field.selections)
                relayed = reach(self.sg, target, info.named_type, field.selections)
                options.append((hops, -score, -relayed, order, key_order, target, key))
        if not options:
            raise PlanningError(
                f'Cannot plan "{type_name}.{field.name}": it is resolved only by '
                + ", ".join(f'"{g}"' for g in info.graphs)
                + f', and no @key of "{type_name}" there can be built from subgraph "{graph}".'
            )
        best = min(options, key=lambda option: option[:5])
        return best[5], best[6]

    def _owner_group(self, group: FetchGroup, builder: SelectionSetBuilder, interface: str, path) -> FetchGroup:
        """The entity group, below `group`, of a subgraph that has `interface` as a real
        interface (not an @interfaceObject), reached through one of its keys."""
        info = self.sg.types[interface]
        options = []
        for order, target in enumerate(info.graphs):
            if target in info.interface_object_graphs:
                continue
            for key_order, key in enumerate(self.sg.keys(interface, target, resolvable_only=True)):
                hops = self._key_hops(group.graph, interface, key.selections, MAX_KEY_HOPS)
                if hops is not None:
                    options.append((hops, order, key_order, target, key))
        if not options:
            raise PlanningError(f'No subgraph resolves the object types of "{interface}" from subgraph "{group.graph}".')
        best = min(options, key=lambda option: option[:3])
        return self._entity_group(group, builder, interface, best[3], best[4], path)

    def _key_hops(self, graph: str, type_name: str, selections, budget: int, provided=None) -> int | None:
        """Jumps needed before `graph` can provide these key fields (0: it has them), or None."""
        info = self.sg.types.get(type_name)
        if info is None:
            return None
        worst = 0
        for selection in selections:
            if isinstance(selection, InlineFragment):
                hops = self._key_hops(graph, selection.type_condition or type_name, selection.selections, budget)
            elif selection.name == "__typename":
                continue
            else:
                field = info.fields.get(selection.name)
                if field is None:
                    return None
                if provided is not None and not selection.selections and self._provided(provided, type_name, selection.name) is not None:
                    hops = 0  # a @provides of the enclosing field brings it
                elif field.resolvable_in(graph):
                    hops = self._key_hops(graph, field.named_type, selection.selections, budget) if selection.selections else 0
                elif budget == 0:
                    return None
                else:
                    hops = None
                    for target in field.graphs:
                        for key in self.sg.keys(self.sg.entity_type_in(type_name, target), target, resolvable_only=True):
                            found = self._key_hops(graph, type_name, key.selections, budget - 1)
                            if found is not None and (hops is None or found + 1 < hops):
                                hops = found + 1
            if hops is None:
                return None
            worst = max(worst, hops)
        return worst

    def _entity_group(
        self, group: FetchGroup, builder: SelectionSetBuilder, type_name: str, target: str, key: Key, path,
        required: tuple[Selection, ...] = (), provided=None,
    ) -> FetchGroup:
        self.jump_depth += 1
        if self.jump_depth > 8:
            raise PlanningError(f'Planning "{type_name}" at "{".".join(path)}" does not converge.')
        # The parent provides __typename and the key. Planning the key records every group
        # it comes from (more than the parent when a key field needs a hop of its own).
        outer, self.touched = self.touched, set()
        try:
            builder.add_typename()
            self.touched.add(group)
            requires = (TYPENAME, *self._plan_key(group, builder, type_name, key.selections, path, provided=provided))
            # @requires: the target resolves the field from these as well.
            extra = self._plan_key(group, builder, type_name, required, path) if required else ()
            providers = self.touched
        finally:
            self.touched = outer
            self.jump_depth -= 1
        lookup: tuple = (group.index, path, target)
        child = self.entity_groups.get(lookup)
        entity_type = self.sg.entity_type_in(type_name, target)
        if child is not None and entity_type in child.requires and child.key_shapes[entity_type] != print_selections(requires):
            # The same entity read through differently aliased keys: a fetch of its own.
            lookup += (print_selections(requires),)
            child = self.entity_groups.get(lookup)
        if child is not None and entity_type in child.requires and _conflicts(child.requires[entity_type], extra):
            # A representation holds each field once: other arguments, another fetch.
            lookup += ("requires", print_selections(extra))
            child = self.entity_groups.get(lookup)
        if child is not None and child in providers:
            # The required fields come through that very fetch: this one runs after it.
            lookup += ("requires", print_selections(extra))
            child = self.entity_groups.get(lookup)
        if child is None:
            child = self.entity_groups[lookup] = self._new_group(target, path, group)
        for response_key, signature in builder.reserved.items():
            child.selection.reserved.setdefault(response_key, signature)
        child.dependencies |= providers
        child.origins.setdefault(entity_type, (type_name, builder))
        if entity_type not in child.requires:
            child.requires[entity_type] = requires
            child.key_shapes[entity_type] = print_selections(requires)
        # Fields of one fetch that @require different fields share it: the representation
        # carries all of them.
        present = {print_selections((s,)) for s in child.requires[entity_type]}
        child.requires[entity_type] += tuple(s for s in extra if print_selections((s,)) not in present)
        if self.touched is not None:
            self.touched.add(child)
        return child

    def _plan_key(
        self, group: FetchGroup, builder: SelectionSetBuilder, type_name: str, selections, path, requires_met: bool = False,
        provided=None,
    ) -> tuple[Selection, ...]:
        """Adds a key's (or @requires') fields to `group` (jumping for those it cannot resolve) and returns
        the representation's shape: each Field named as the representation names it,
        aliased to where the parent's data holds it."""
        info = self.sg.types[type_name]
        shape: list[Selection] = []
        for selection in selections:
            if isinstance(selection, InlineFragment):
                condition = selection.type_condition or type_name
                target = builder if condition == type_name else builder.fragment(condition)
                inner = self._plan_key(group, target, condition, selection.selections, path)
                if condition == type_name:
                    shape.append(InlineFragment(None, inner))
                elif self.sg.types[condition].is_abstract:
                    # The executor matches fragments on runtime types: one per possible type.
                    shape.extend(InlineFragment(t, inner) for t in self.sg.possible_types(condition))
                else:
                    shape.append(InlineFragment(selection.type_condition, inner))
                continue
            if selection.name == "__typename":
                builder.add_typename()
                shape.append(TYPENAME)
                continue
            field = info.fields.get(selection.name)
            if field is None:
                raise PlanningError(f'The key of "{type_name}" selects "{selection.name}", which it does not have.')
            native = field.resolvable_in(group.graph) or (
                provided is not None and not selection.selections and self._provided(provided, type_name, selection.name) is not None
            )
            if not native or (field.required_selections(group.graph) and not requires_met):
                target_graph, key = self._choose_jump(group.graph, type_name, selection)
                entity_type = self.sg.entity_type_in(type_name, target_graph)
                required = self.sg.types[entity_type].fields[selection.name].required_selections(target_graph)
                child = self._entity_group(group, builder, type_name, target_graph, key, path, required)
                shape.extend(
                    self._plan_key(child, child.entity_selection(entity_type), entity_type, (selection,), path, requires_met=True)
                )
                continue
            self._touch(group)
            added = builder.internal_field(selection)
            nested: tuple[Selection, ...] = ()
            if selection.selections:
                sub = added.sub()
                if self.sg.types[field.named_type].is_abstract:
                    sub.add_typename()
                depth = self.sg.field_list_depth(type_name, selection.name)
                sub_path = path + (added.template.response_key,) + ("@",) * depth
                nested = self._plan_key(group, sub, field.named_type, selection.selections, sub_path)
            shape.append(Field(selection.name, added.template.alias, selection.arguments, (), nested))
        return tuple(shape)

    # ------------------------------------------------------------ building the plan

    def _to_node(self) -> PlanNode | None:
        root_after: list[FetchGroup] = []
        for group in self.groups:
            if group.parent is None:
                continue
            ancestors = set(group.parent.chain())
            if group.dependencies <= ancestors:
                continue  # an ordinary child: runs once its parent has answered
            group.parent.children.remove(group)
            anchor = self._common_ancestor([group.parent, *group.dependencies])
            (anchor.after if anchor is not None else root_after).append(group)
        fetches = {group: self._fetch_node(group) for group in self.groups}
        roots = [g for g in self.groups if g.parent is None]
        return sequence([parallel([self._subtree(g, fetches) for g in roots]), self._staged(root_after, fetches)])

    @staticmethod
    def _common_ancestor(groups: list[FetchGroup]) -> FetchGroup | None:
        chains = [g.chain() for g in groups]
        others = [set(chain) for chain in chains[1:]]
        for candidate in chains[0]:
            if all(candidate in chain for chain in others):
                return candidate
        return None

    def _subtree(self, group: FetchGroup, fetches: dict) -> PlanNode | None:
        fetch = fetches[group]
        node: PlanNode = FlattenNode(group.path, fetch) if group.is_entity else fetch
        return sequence(
            [
                node,
                parallel([self._subtree(c, fetches) for c in group.children]),
                self._staged(group.after, fetches),
            ]
        )

    def _staged(self, groups: list[FetchGroup], fetches: dict) -> PlanNode | None:
        """Groups placed after one anchor, in stages: a group that waits for something in
        another one's subtree (e.g. a @requires field computed from a @requires field) runs
        in a later stage than that one; the rest run in parallel."""
        ordered = sorted(groups, key=lambda g: g.index)
        members = {g: self._members(g) for g in ordered}
        stage: dict[FetchGroup, int] = {}
        for group in ordered:
            stage[group] = max(
                (stage[other] + 1 for other in stage if group.dependencies & members[other]), default=0
            )
        stages = sorted(set(stage.values()))
        return sequence(
            [parallel([self._subtree(g, fetches) for g in ordered if stage[g] == n]) for n in stages]
        )

    @staticmethod
    def _members(group: FetchGroup) -> set[FetchGroup]:
        found, stack = set(), [group]
        while stack:
            current = stack.pop()
            found.add(current)
            stack.extend(current.children)
            stack.extend(current.after)
        return found

    def _fetch_node(self, group: FetchGroup) -> FetchNode:
        self.counter[0] += 1
        selections = group.selection.build()
        used = selection_variables(selections)
        definitions = [d for d in self.operation.variable_definitions if d.variable.name.value in used]
        name = None
        if self.operation.name:
            # Apollo's naming, so subgraph logs tell which client operation a request serves.
            name = f"{self.operation.name}__{re.sub(r'[^A-Za-z0-9_]', '_', group.graph)}__{self.counter[0] - 1}"
        variables = tuple(d.variable.name.value for d in definitions)
        if not group.is_entity:
            kind = self.operation.kind
            head = kind if (name or definitions or kind != "query") else ""
            if name:
                head += " " + name
            operation = head + print_variable_definitions(definitions).replace(", ", ",") + print_selections(selections)
            return FetchNode(group.graph, operation, kind, selections, None, variables, name)
        shapes = dict(group.requires)
        renames: dict[str, str] = {}
        for type_name, shape in group.requires.items():
            if self.sg.types[type_name].is_abstract:
                # Objects may already carry their runtime type; an @interfaceObject subgraph
                # knows them by the interface's name only.
                as_interface = self.sg.is_interface_object_in(type_name, group.graph)
                for runtime in self.sg.possible_types(type_name):
                    shapes.setdefault(runtime, shape)
                    if as_interface:
                        renames.setdefault(runtime, type_name)
            elif self.sg.entity_type_in(type_name, group.graph) != type_name:
                renames[type_name] = self.sg.entity_type_in(type_name, group.graph)
        requires = tuple(InlineFragment(t, shape) for t, shape in shapes.items())
        declared = "$representations:[_Any!]!" + "".join("," + print_ast(d) for d in definitions)
        operation = (
            "query" + (" " + name if name else "") + f"({declared})"
            + "{_entities(representations:$representations)" + print_selections(selections) + "}"
        )
        return FetchNode(
            group.graph, operation, "query", selections, requires, variables, name, frozenset(shapes), tuple(renames.items())
        )
