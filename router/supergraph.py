"""The supergraph, read once: which subgraph resolves what, and the API schema clients see.

Built from a supergraph SDL in Apollo's format (join v0.1 through v0.5, ours or Apollo
composition's). The planner asks it questions (`resolving_graphs`, `keys`,
`possible_types_in`) that are dictionary look-ups: nothing here re-reads directives at
request time. The API schema is the supergraph with the join/link machinery and every
@inaccessible element removed; it validates client operations and answers introspection."""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Iterable

from graphql import (
    DirectiveDefinitionNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    TypeNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    build_ast_schema,
    is_abstract_type,
    parse,
    print_ast,
    value_from_ast_untyped,
)

from router.links import APOLLO_SPECS, LinkedFeature, find_feature, linked_features
from router.operation import Selection, parse_selection_set

ROOT_KINDS = ("query", "mutation", "subscription")
DEFAULT_ROOTS = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}
BUILT_IN_DIRECTIVES = {"include", "skip", "deprecated", "specifiedBy", "oneOf", "defer", "stream"}

_KINDS = {
    ObjectTypeDefinitionNode: "OBJECT",
    ObjectTypeExtensionNode: "OBJECT",
    InterfaceTypeDefinitionNode: "INTERFACE",
    InterfaceTypeExtensionNode: "INTERFACE",
    UnionTypeDefinitionNode: "UNION",
    UnionTypeExtensionNode: "UNION",
    EnumTypeDefinitionNode: "ENUM",
    EnumTypeExtensionNode: "ENUM",
    InputObjectTypeDefinitionNode: "INPUT_OBJECT",
    InputObjectTypeExtensionNode: "INPUT_OBJECT",
    ScalarTypeDefinitionNode: "SCALAR",
    ScalarTypeExtensionNode: "SCALAR",
}


class SupergraphError(Exception):
    """The SDL is not a supergraph this router can serve."""


@dataclass(frozen=True)
class Subgraph:
    name: str
    url: str
    enum_value: str  # its value in join__Graph, e.g. IDENTITY


@dataclass(frozen=True)
class Key:
    graph: str
    fields: str
    selections: tuple[Selection, ...]
    resolvable: bool = True


@dataclass(frozen=True)
class FieldJoin:
    """One @join__field: how one subgraph holds a field."""

    graph: str
    requires: str | None = None
    provides: str | None = None
    external: bool = False
    override: str | None = None
    used_overridden: bool = False
    type: str | None = None
    # `requires` and `provides` parsed once, for the planner.
    requires_selections: tuple[Selection, ...] = ()
    provides_selections: tuple[Selection, ...] = ()


class FieldInfo:
    __slots__ = ("name", "type", "named_type", "graphs", "joins", "_graph_set")

    def __init__(self, name: str, type_: str, named_type: str, graphs: tuple[str, ...], joins: dict[str, FieldJoin]):
        self.name = name
        self.type = type_
        self.named_type = named_type
        # The subgraphs that can resolve the field (not merely mention it as @external).
        self.graphs = graphs
        self.joins = joins
        self._graph_set = frozenset(graphs)

    def resolvable_in(self, graph: str) -> bool:
        return graph in self._graph_set

    def requires(self, graph: str) -> str | None:
        join = self.joins.get(graph)
        return join.requires if join else None

    def provides(self, graph: str) -> str | None:
        join = self.joins.get(graph)
        return join.provides if join else None

    def named_type_in(self, graph: str) -> str:
        """The field's named type in `graph`'s own schema (it may be narrower, e.g. an
        object type where the supergraph has a union)."""
        join = self.joins.get(graph)
        if join is None or not join.type:
            return self.named_type
        return join.type.strip("[]! ").replace("[", "").replace("]", "").replace("!", "")

    def required_selections(self, graph: str) -> tuple[Selection, ...]:
        """The fields `graph` needs in the representation to resolve this one (@requires)."""
        join = self.joins.get(graph)
        return join.requires_selections if join else ()

    def provided_selections(self, graph: str) -> tuple[Selection, ...]:
        """What `graph` resolves below this field although it is @external there (@provides)."""
        join = self.joins.get(graph)
        return join.provides_selections if join else ()

    def __repr__(self) -> str:
        return f"FieldInfo({self.name}: {self.type} in {list(self.graphs)})"


class TypeInfo:
    __slots__ = ("name", "kind", "graphs", "keys", "fields", "implements", "members", "interface_object_graphs", "extension_graphs")

    def __init__(self, name: str, kind: str):
        self.name = name
        self.kind = kind
        self.graphs: tuple[str, ...] = ()
        self.keys: dict[str, tuple[Key, ...]] = {}
        self.fields: dict[str, FieldInfo] = {}
        self.implements: dict[str, frozenset[str]] = {}
        self.members: dict[str, frozenset[str]] = {}
        self.interface_object_graphs: frozenset[str] = frozenset()
        self.extension_graphs: frozenset[str] = frozenset()

    @property
    def is_composite(self) -> bool:
        return self.kind in ("OBJECT", "INTERFACE", "UNION")

    @property
    def is_abstract(self) -> bool:
        return self.kind in ("INTERFACE", "UNION")

    def in_graph(self, graph: str) -> bool:
        return graph in self.graphs

    def __repr__(self) -> str:
        return f"TypeInfo({self.kind} {self.name} in {list(self.graphs)})"


def named_type_of(node: TypeNode) -> str:
    while isinstance(node, (NonNullTypeNode, ListTypeNode)):
        node = node.type
    assert isinstance(node, NamedTypeNode)
    return node.name.value


def list_depth(node: TypeNode) -> int:
    depth = 0
    while isinstance(node, (NonNullTypeNode, ListTypeNode)):
        if isinstance(node, ListTypeNode):
            depth += 1
        node = node.type
    return depth


class Supergraph:
    """The model the planner queries. Build it with `Supergraph.from_sdl`."""

    def __init__(self) -> None:
        self.sdl = ""
        self.subgraphs: dict[str, Subgraph] = {}
        self.types: dict[str, TypeInfo] = {}
        self.root_types: dict[str, str] = {}
        self.api_schema: GraphQLSchema
        self.join_version: tuple[int, ...] = ()
        self._possible: dict[str, tuple[str, ...]] = {}
        self._possible_in: dict[tuple[str, str], tuple[str, ...]] = {}
        self._list_depth: dict[tuple[str, str], int] = {}

    # ------------------------------------------------------------ questions

    def type(self, name: str) -> TypeInfo:
        return self.types[name]

    def field(self, type_name: str, field_name: str) -> FieldInfo | None:
        info = self.types.get(type_name)
        return info.fields.get(field_name) if info else None

    def resolving_graphs(self, type_name: str, field_name: str) -> tuple[str, ...]:
        field = self.field(type_name, field_name)
        return field.graphs if field else ()

    def keys(self, type_name: str, graph: str, *, resolvable_only: bool = False) -> tuple[Key, ...]:
        keys = self.types[type_name].keys.get(graph, ())
        return tuple(k for k in keys if k.resolvable) if resolvable_only else keys

    def possible_types(self, type_name: str) -> tuple[str, ...]:
        """Object types a value of `type_name` can be at runtime (API schema)."""
        return self._possible.get(type_name, (type_name,))

    def possible_types_in(self, graph: str, type_name: str) -> tuple[str, ...]:
        """Object types that `graph` itself can return for a field of `type_name`."""
        key = (graph, type_name)
        found = self._possible_in.get(key)
        if found is None:
            found = self._compute_possible_in(graph, type_name)
            self._possible_in[key] = found
        return found

    def entity_type_in(self, type_name: str, graph: str) -> str:
        """The type `graph` knows an object of `type_name` as: itself, or the interface it
        implements that `graph` has as an @interfaceObject."""
        info = self.types.get(type_name)
        if info is None or info.in_graph(graph) or info.kind != "OBJECT":
            return type_name
        for found in info.implements.values():
            for interface in found:
                if graph in self.types[interface].interface_object_graphs:
                    return interface
        return type_name

    def is_interface_object_in(self, type_name: str, graph: str) -> bool:
        info = self.types.get(type_name)
        return info is not None and graph in info.interface_object_graphs

    def field_list_depth(self, type_name: str, field_name: str) -> int:
        return self._list_depth.get((type_name, field_name), 0)

    @property
    def query_type(self) -> str:
        return self.root_types["query"]

    def _compute_possible_in(self, graph: str, type_name: str) -> tuple[str, ...]:
        info = self.types.get(type_name)
        if info is None:
            return ()
        if info.kind == "OBJECT":
            return (type_name,) if info.in_graph(graph) else ()
        result = []
        for candidate in self.possible_types(type_name):
            candidate_info = self.types.get(candidate)
            if candidate_info is None or not candidate_info.in_graph(graph):
                continue
            if info.kind == "UNION":
                members = info.members.get(graph)
                if members is None and info.members:
                    continue
                if members is not None and candidate not in members:
                    continue
            else:
                implemented = candidate_info.implements.get(graph)
                if implemented is not None and type_name not in implemented:
                    continue
                if implemented is None and any(candidate_info.implements.values()):
                    continue
            result.append(candidate)
        return tuple(result)

    # ------------------------------------------------------------ loading

    @classmethod
    def from_sdl(cls, sdl: str) -> "Supergraph":
        document = parse(sdl)
        features = linked_features(document)
        join = find_feature(features, "join")
        if join is None:
            raise SupergraphError("The schema does not link the join spec: it is not a supergraph.")
        supergraph = cls()
        supergraph.sdl = sdl
        supergraph.join_version = join.version_tuple
        _Loader(supergraph, document, features, join).load()
        return supergraph


class _Loader:
    def __init__(self, supergraph: Supergraph, document: DocumentNode, features: list[LinkedFeature], join: LinkedFeature):
        self.sg = supergraph
        self.document = document
        self.features = features
        self.join = join
        self.d_type = join.directive_name("type")
        self.d_field = join.directive_name("field")
        self.d_graph = join.directive_name("graph")
        self.d_implements = join.directive_name("implements")
        self.d_member = join.directive_name("unionMember")
        self.d_owner = join.directive_name("owner")
        inaccessible = find_feature(features, "inaccessible")
        self.d_inaccessible = inaccessible.directive_name("inaccessible") if inaccessible else "inaccessible"
        self.spec_features = [f for f in features if f.url.startswith(APOLLO_SPECS)]
        self.graph_by_enum: dict[str, str] = {}

    def load(self) -> None:
        by_name = self._definitions_by_name()
        self._load_graphs(by_name)
        self._load_roots()
        for name, nodes in by_name.items():
            if self._is_spec_type(name):
                continue
            kind = _KINDS[type(nodes[0])]
            self.sg.types[name] = self._load_type(name, kind, nodes)
        self._link_interface_objects()
        self.sg.api_schema = build_api_schema(self.document, self.spec_features, self.d_inaccessible)
        self._index_api_schema()

    def _definitions_by_name(self) -> dict[str, list]:
        by_name: dict[str, list] = {}
        for definition in self.document.definitions:
            if type(definition) in _KINDS:
                by_name.setdefault(definition.name.value, []).append(definition)
        return by_name

    def _is_spec_type(self, name: str) -> bool:
        return any(feature.owns_type(name) for feature in self.spec_features)

    def _load_graphs(self, by_name: dict[str, list]) -> None:
        enum_name = self.join.type_name("Graph")
        nodes = by_name.get(enum_name)
        if not nodes:
            raise SupergraphError(f"The supergraph has no {enum_name} enum: no subgraphs.")
        for node in nodes:
            for value in node.values or ():
                args = _directive_args(value.directives, self.d_graph)
                if not args:
                    continue
                name, url = args[0]["name"], args[0].get("url")  # name: String! in join__graph
                self.graph_by_enum[value.name.value] = name
                self.sg.subgraphs[name] = Subgraph(name, url or "", value.name.value)

    def _load_roots(self) -> None:
        roots = {}
        for definition in self.document.definitions:
            if isinstance(definition, (SchemaDefinitionNode, SchemaExtensionNode)):
                for operation_type in definition.operation_types or ():
                    roots[operation_type.operation.value] = operation_type.type.name.value
        if not roots:
            defined = {d.name.value for d in self.document.definitions if type(d) in _KINDS}
            roots = {kind: name for kind, name in DEFAULT_ROOTS.items() if name in defined}
        self.sg.root_types = roots

    def _graph(self, enum_value) -> str | None:
        return self.graph_by_enum.get(enum_value) if isinstance(enum_value, str) else None

    def _load_type(self, name: str, kind: str, nodes: list) -> TypeInfo:
        info = TypeInfo(name, kind)
        directives = [d for node in nodes for d in node.directives or ()]
        graphs: list[str] = []
        keys: dict[str, list[Key]] = {}
        interface_objects, extensions = set(), set()
        for args in _directive_args(directives, self.d_type):
            graph = self._graph(args.get("graph"))
            if graph is None:
                continue
            if graph not in graphs:
                graphs.append(graph)
            if args.get("key"):
                keys.setdefault(graph, []).append(
                    Key(graph, args["key"], parse_selection_set(args["key"]), args.get("resolvable", True) is not False)
                )
            if args.get("isInterfaceObject"):
                interface_objects.add(graph)
            if args.get("extension"):
                extensions.add(graph)
        owner = None
        owner_args = _directive_args(directives, self.d_owner)
        if owner_args:
            owner = self._graph(owner_args[0].get("graph"))
        if not graphs:
            # Fed 1 supergraphs leave value types without @join__type: every subgraph has them.
            graphs = list(self.sg.subgraphs)
        info.graphs = tuple(graphs)
        info.keys = {graph: tuple(found) for graph, found in keys.items()}
        info.interface_object_graphs = frozenset(interface_objects)
        info.extension_graphs = frozenset(extensions)
        implements: dict[str, set[str]] = {}
        for args in _directive_args(directives, self.d_implements):
            graph = self._graph(args.get("graph"))
            if graph is not None:
                implements.setdefault(graph, set()).add(args["interface"])  # String! in join__implements
        info.implements = {g: frozenset(v) for g, v in implements.items()}
        members: dict[str, set[str]] = {}
        for args in _directive_args(directives, self.d_member):
            graph = self._graph(args.get("graph"))
            if graph is not None:
                members.setdefault(graph, set()).add(args["member"])  # String! in join__unionMember
        info.members = {g: frozenset(v) for g, v in members.items()}
        if kind in ("OBJECT", "INTERFACE"):
            for node in nodes:
                for field in node.fields or ():
                    info.fields[field.name.value] = self._load_field(info, field, owner)
        return info

    def _load_field(self, parent: TypeInfo, node, owner: str | None) -> FieldInfo:
        joins: dict[str, FieldJoin] = {}
        resolving: list[str] = []
        applied = _directive_args(node.directives, self.d_field)
        for args in applied:
            graph = self._graph(args.get("graph"))
            if graph is None:
                continue
            join = FieldJoin(
                graph,
                requires=args.get("requires"),
                provides=args.get("provides"),
                external=bool(args.get("external")),
                override=args.get("override"),
                used_overridden=bool(args.get("usedOverridden")),
                type=args.get("type"),
                requires_selections=parse_selection_set(args["requires"]) if args.get("requires") else (),
                provides_selections=parse_selection_set(args["provides"]) if args.get("provides") else (),
            )
            joins[graph] = join
            if not join.external and not join.used_overridden and graph not in resolving:
                resolving.append(graph)
        if not applied:
            resolving = [owner] if owner else list(parent.graphs)
        self.sg._list_depth[(parent.name, node.name.value)] = list_depth(node.type)
        return FieldInfo(node.name.value, print_ast(node.type), named_type_of(node.type), tuple(resolving), joins)

    def _link_interface_objects(self) -> None:
        """A field an @interfaceObject contributes to an interface shows on each object type
        as a bare @join__field: those graphs resolve it (through the interface's key)."""
        for info in self.sg.types.values():
            if info.kind != "OBJECT":
                continue
            interfaces = [self.sg.types[i] for found in info.implements.values() for i in found if i in self.sg.types]
            for name, field in info.fields.items():
                if field.graphs:
                    continue
                graphs = [
                    g for interface in interfaces if name in interface.fields
                    for g in interface.fields[name].graphs if g in interface.interface_object_graphs
                ]
                if graphs:
                    field.graphs = tuple(dict.fromkeys(graphs))
                    field._graph_set = frozenset(field.graphs)

    def _index_api_schema(self) -> None:
        schema = self.sg.api_schema
        for name, graphql_type in schema.type_map.items():
            if is_abstract_type(graphql_type):
                self.sg._possible[name] = tuple(t.name for t in schema.get_possible_types(graphql_type))


def _directive_args(directives: Iterable, name: str) -> list[dict]:
    return [
        {a.name.value: value_from_ast_untyped(a.value) for a in d.arguments or ()}
        for d in directives or ()
        if d.name.value == name
    ]


# ---------------------------------------------------------------- API schema


def build_api_schema(document: DocumentNode, spec_features: list[LinkedFeature], inaccessible: str) -> GraphQLSchema:
    """The supergraph as clients see it: spec machinery and @inaccessible elements removed."""

    def spec_directive(name: str) -> bool:
        return any(f.owns_directive(name) for f in spec_features)

    def spec_type(name: str) -> bool:
        return any(f.owns_type(name) for f in spec_features)

    hidden_types = set()
    kept_directives = set(BUILT_IN_DIRECTIVES)
    for definition in document.definitions:
        if type(definition) in _KINDS:
            name = definition.name.value
            if spec_type(name) or _has(definition.directives, inaccessible):
                hidden_types.add(name)
        elif isinstance(definition, DirectiveDefinitionNode) and not spec_directive(definition.name.value):
            kept_directives.add(definition.name.value)

    def directives(nodes):
        return tuple(d for d in nodes or () if d.name.value in kept_directives)

    def visible(node) -> bool:
        return not _has(node.directives, inaccessible)

    def visible_field(node) -> bool:
        return visible(node) and named_type_of(node.type) not in hidden_types

    def clean_args(args):
        return tuple(_with(a, directives=directives(a.directives)) for a in args or () if visible(a))

    definitions = []
    for definition in document.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            if definition.name.value in kept_directives:
                definitions.append(_with(definition, arguments=clean_args(definition.arguments)))
            continue
        if isinstance(definition, (SchemaDefinitionNode, SchemaExtensionNode)):
            operation_types = tuple(
                o for o in definition.operation_types or () if o.type.name.value not in hidden_types
            )
            definitions.append(_with(definition, directives=(), operation_types=operation_types))
            continue
        if type(definition) not in _KINDS:
            definitions.append(definition)
            continue
        if definition.name.value in hidden_types:
            continue
        changes = {"directives": directives(definition.directives)}
        if hasattr(definition, "fields") and definition.fields is not None:
            if isinstance(definition, (InputObjectTypeDefinitionNode, InputObjectTypeExtensionNode)):
                changes["fields"] = tuple(
                    _with(f, directives=directives(f.directives)) for f in definition.fields if visible_field(f)
                )
            else:
                changes["fields"] = tuple(
                    _with(f, directives=directives(f.directives), arguments=clean_args(f.arguments))
                    for f in definition.fields
                    if visible_field(f)
                )
        if getattr(definition, "interfaces", None):
            changes["interfaces"] = tuple(i for i in definition.interfaces if i.name.value not in hidden_types)
        if getattr(definition, "types", None):
            changes["types"] = tuple(t for t in definition.types if t.name.value not in hidden_types)
        if getattr(definition, "values", None):
            changes["values"] = tuple(
                _with(v, directives=directives(v.directives)) for v in definition.values if visible(v)
            )
        definitions.append(_with(definition, **changes))
    return build_ast_schema(DocumentNode(definitions=tuple(definitions)), assume_valid_sdl=True)


def _has(directives, name: str) -> bool:
    return any(d.name.value == name for d in directives or ())


def _with(node, **changes):
    """A changed copy of an AST node (graphql-core 3.3 nodes are frozen dataclasses, 3.2's are not)."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return dataclasses.replace(node, **changes)
    node = copy.copy(node)
    for key, value in changes.items():
        setattr(node, key, value)
    return node
