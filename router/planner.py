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

Growth points: @requires/@provides/@override (FieldJoin data is already loaded),
@interfaceObject, cost-based choice among several candidate subgraphs, @defer."""
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

    __slots__ = ("items", "typename", "reserved")

    def __init__(self, reserved: dict[str, tuple] | None = None) -> None:
        self.items: dict[tuple, FieldBuilder | FragmentBuilder] = {}
        self.typename = False
        self.reserved: dict[str, tuple] = reserved if reserved is not None else {}

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
        if (taken is None or taken == signature) and (existing is None or _signature(existing.template) == signature):
            return self.field(Field(field.name, None, field.arguments))
        n = 0
        while True:
            alias = f"_key_{field.name}" + (f"_{n}" if n else "")
            existing = self.items.get(("f", alias, ()))
            if alias not in self.reserved and (existing is None or _signature(existing.template) == signature):
                return self.field(Field(field.name, alias, field.arguments))
            n += 1

    def fragment(self, type_condition: str | None, directives: tuple = ()) -> "SelectionSetBuilder":
        key = ("i", type_condition, tuple(print_ast(d) for d in directives))
        found = self.items.get(key)
        if found is None:
            # Same object, same response keys: the fragment shares `reserved`.
            found = self.items[key] = FragmentBuilder(type_condition, directives, self.reserved)
        return found.selections  # type: ignore[union-attr]

    def build(self) -> tuple[Selection, ...]:
        built: list[Selection] = [TYPENAME] if self.typename else []
        built.extend(item.build() for item in self.items.values())
        return tuple(built)

    def __bool__(self) -> bool:
        return self.typename or bool(self.items)


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
        if self.selections is None:
            return self.template if not self.template.selections else self.template.with_selections(())
        return self.template.with_selections(self.selections.build())


_TYPENAME_BUILDER = FieldBuilder(TYPENAME)


class FragmentBuilder:
    __slots__ = ("type_condition", "directives", "selections")

    def __init__(self, type_condition: str | None, directives: tuple, reserved: dict[str, tuple] | None = None):
        self.type_condition = type_condition
        self.directives = directives
        self.selections = SelectionSetBuilder(reserved)

    def build(self) -> InlineFragment:
        return InlineFragment(self.type_condition, self.selections.build(), self.directives)


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
        self.dependencies: set[FetchGroup] = set()
        self.children: list[FetchGroup] = []
        self.after: list[FetchGroup] = []  # placed after this group's whole subtree

    @property
    def is_entity(self) -> bool:
        return self.parent is not None

    def entity_selection(self, type_name: str) -> SelectionSetBuilder:
        return self.selection.fragment(type_name)

    def chain(self) -> list["FetchGroup"]:
        chain, group = [], self
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

    def _plan_selections(self, group, builder, parent_type: str, selections, path) -> None:
        for selection in selections:
            if isinstance(selection, Field):
                self._plan_field(group, builder, parent_type, selection, path)
            else:
                self._plan_fragment(group, builder, parent_type, selection, path)

    def _plan_field(self, group: FetchGroup, builder: SelectionSetBuilder, parent_type: str, field: Field, path) -> None:
        if field.name == "__typename":
            builder.field(field)
            self._touch(group)
            return
        parent = self.sg.types[parent_type]
        info = parent.fields.get(field.name)
        if info is None:
            raise PlanningError(f'The type "{parent_type}" has no field "{field.name}".')
        if info.resolvable_in(group.graph):
            self._touch(group)
            added = builder.field(field)
            if field.selections:
                sub = added.sub()
                sub.reserve(field.selections)
                if self.sg.types[info.named_type].is_abstract:
                    sub.add_typename()
                depth = self.sg.field_list_depth(parent_type, field.name)
                sub_path = path + (field.response_key,) + ("@",) * depth
                self._plan_selections(group, sub, info.named_type, field.selections, sub_path)
            return
        if parent.is_abstract:
            # Not resolvable on the interface here: plan it for each type this subgraph can return.
            builder.add_typename()
            for runtime in self.sg.possible_types_in(group.graph, parent_type):
                self._plan_field(group, builder.fragment(runtime), runtime, field, path)
            return
        target, key = self._choose_jump(group.graph, parent_type, field)
        child = self._entity_group(group, builder, parent_type, target, key, path)
        self._plan_field(child, child.entity_selection(parent_type), parent_type, field, path)

    def _plan_fragment(self, group, builder, parent_type: str, fragment: InlineFragment, path) -> None:
        condition = fragment.type_condition
        parent = self.sg.types[parent_type]
        if condition is None or condition == parent_type or parent.kind == "OBJECT":
            if condition is not None and condition != parent_type and parent_type not in self.sg.possible_types(condition):
                return  # the fragment can never apply here
            target = builder.fragment(None, fragment.directives) if fragment.directives else builder
            self._plan_selections(group, target, parent_type, fragment.selections, path)
            return
        runtime_types = set(self.sg.possible_types(parent_type))
        if not runtime_types.intersection(self.sg.possible_types(condition)):
            return
        condition_info = self.sg.types[condition]
        if condition_info.in_graph(group.graph):
            target = builder.fragment(condition, fragment.directives)
            self._plan_selections(group, target, condition, fragment.selections, path)
            return
        # The subgraph does not know the abstract condition: spell it out per object type.
        for runtime in self.sg.possible_types_in(group.graph, parent_type):
            if runtime in self.sg.possible_types(condition):
                target = builder.fragment(runtime, fragment.directives)
                self._plan_selections(group, target, runtime, fragment.selections, path)

    def _touch(self, group: FetchGroup) -> None:
        if self.touched is not None:
            self.touched.add(group)

    # ------------------------------------------------------------ jumps

    def _choose_jump(self, graph: str, type_name: str, field: Field) -> tuple[str, Key]:
        info = self.sg.types[type_name].fields[field.name]
        options = []
        for order, target in enumerate(info.graphs):
            for key_order, key in enumerate(self.sg.keys(type_name, target, resolvable_only=True)):
                hops = self._key_hops(graph, type_name, key.selections, MAX_KEY_HOPS)
                if hops is None:
                    continue
                score = coverage(self.sg, target, info.named_type, field.selections)
                options.append((hops, -score, order, key_order, target, key))
        if not options:
            raise PlanningError(
                f'Cannot plan "{type_name}.{field.name}": it is resolved only by '
                + ", ".join(f'"{g}"' for g in info.graphs)
                + f', and no @key of "{type_name}" there can be built from subgraph "{graph}".'
            )
        best = min(options, key=lambda option: option[:4])
        return best[4], best[5]

    def _key_hops(self, graph: str, type_name: str, selections, budget: int) -> int | None:
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
                if field.resolvable_in(graph):
                    hops = self._key_hops(graph, field.named_type, selection.selections, budget) if selection.selections else 0
                elif budget == 0:
                    return None
                else:
                    hops = None
                    for target in field.graphs:
                        for key in self.sg.keys(type_name, target, resolvable_only=True):
                            found = self._key_hops(graph, type_name, key.selections, budget - 1)
                            if found is not None and (hops is None or found + 1 < hops):
                                hops = found + 1
            if hops is None:
                return None
            worst = max(worst, hops)
        return worst

    def _entity_group(self, group: FetchGroup, builder: SelectionSetBuilder, type_name: str, target: str, key: Key, path) -> FetchGroup:
        self.jump_depth += 1
        if self.jump_depth > 8:
            raise PlanningError(f'Planning "{type_name}" at "{".".join(path)}" does not converge.')
        # The parent provides __typename and the key. Planning the key records every group
        # it comes from (more than the parent when a key field needs a hop of its own).
        outer, self.touched = self.touched, set()
        try:
            builder.add_typename()
            self.touched.add(group)
            requires = (TYPENAME, *self._plan_key(group, builder, type_name, key.selections, path))
            providers = self.touched
        finally:
            self.touched = outer
            self.jump_depth -= 1
        lookup: tuple = (group.index, path, target)
        child = self.entity_groups.get(lookup)
        if child is not None and type_name in child.requires and print_selections(child.requires[type_name]) != print_selections(requires):
            # The same entity read through differently aliased keys: a fetch of its own.
            lookup += (print_selections(requires),)
            child = self.entity_groups.get(lookup)
        if child is None:
            child = self.entity_groups[lookup] = self._new_group(target, path, group)
        for response_key, signature in builder.reserved.items():
            child.selection.reserved.setdefault(response_key, signature)
        child.dependencies |= providers
        child.requires.setdefault(type_name, requires)
        if self.touched is not None:
            self.touched.add(child)
        return child

    def _plan_key(self, group: FetchGroup, builder: SelectionSetBuilder, type_name: str, selections, path) -> tuple[Selection, ...]:
        """Adds a key's fields to `group` (jumping for those it cannot resolve) and returns
        the representation's shape: each Field named as the representation names it,
        aliased to where the parent's data holds it."""
        info = self.sg.types[type_name]
        shape: list[Selection] = []
        for selection in selections:
            if isinstance(selection, InlineFragment):
                condition = selection.type_condition or type_name
                target = builder if condition == type_name else builder.fragment(condition)
                inner = self._plan_key(group, target, condition, selection.selections, path)
                shape.append(InlineFragment(selection.type_condition, inner))
                continue
            if selection.name == "__typename":
                builder.add_typename()
                shape.append(TYPENAME)
                continue
            field = info.fields.get(selection.name)
            if field is None:
                raise PlanningError(f'The key of "{type_name}" selects "{selection.name}", which it does not have.')
            if not field.resolvable_in(group.graph):
                target_graph, key = self._choose_jump(group.graph, type_name, selection)
                child = self._entity_group(group, builder, type_name, target_graph, key, path)
                shape.extend(self._plan_key(child, child.entity_selection(type_name), type_name, (selection,), path))
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
        return sequence(
            [parallel([self._subtree(g, fetches) for g in roots]), parallel([self._subtree(g, fetches) for g in root_after])]
        )

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
                parallel([self._subtree(a, fetches) for a in group.after]),
            ]
        )

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
        requires = tuple(InlineFragment(t, shape) for t, shape in group.requires.items())
        declared = "$representations:[_Any!]!" + "".join("," + print_ast(d) for d in definitions)
        operation = (
            "query" + (" " + name if name else "") + f"({declared})"
            + "{_entities(representations:$representations)" + print_selections(selections) + "}"
        )
        return FetchNode(group.graph, operation, "query", selections, requires, variables, name, frozenset(group.requires))
