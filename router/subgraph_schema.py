"""One subgraph's SDL, read for composition: its types and fields with the federation
directives resolved to their spec names.

The SDL is parsed for syntax only (graphql-core's `parse`): subgraph SDLs use federation
directives they never declare. The federation `@link` decides what each local directive
name means (`@key`, `@federation__key`, or an import renamed with `as`); a subgraph
without that link is a Federation 1 subgraph, where the directives go unprefixed and every
field is shareable. Federation machinery (`_entities`, `_service`, `_Any`, ...) is dropped
here, so composition only ever sees the subgraph's own schema."""
from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    DirectiveNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    GraphQLError,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ListTypeNode,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    StringValueNode,
    TypeNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    ValueNode,
    parse,
    value_from_ast_untyped,
)

from router.links import LinkedFeature, find_feature, linked_features

FEDERATION_DIRECTIVES = frozenset(
    {
        "key", "requires", "provides", "external", "shareable", "override", "inaccessible", "tag",
        "extends", "interfaceObject", "composeDirective", "authenticated", "requiresScopes", "policy",
        "context", "fromContext", "cost", "listSize",
    }
)
MACHINERY_TYPES = frozenset({"_Any", "_Entity", "_Service", "_FieldSet", "FieldSet"})
MACHINERY_FIELDS = frozenset({"_entities", "_service"})
ROOT_NAMES = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}

_DEFINITIONS = {
    ObjectTypeDefinitionNode: ("OBJECT", False),
    ObjectTypeExtensionNode: ("OBJECT", True),
    InterfaceTypeDefinitionNode: ("INTERFACE", False),
    InterfaceTypeExtensionNode: ("INTERFACE", True),
    UnionTypeDefinitionNode: ("UNION", False),
    UnionTypeExtensionNode: ("UNION", True),
    EnumTypeDefinitionNode: ("ENUM", False),
    EnumTypeExtensionNode: ("ENUM", True),
    InputObjectTypeDefinitionNode: ("INPUT_OBJECT", False),
    InputObjectTypeExtensionNode: ("INPUT_OBJECT", True),
    ScalarTypeDefinitionNode: ("SCALAR", False),
    ScalarTypeExtensionNode: ("SCALAR", True),
}


class SubgraphSchemaError(Exception):
    pass


@dataclass
class Applied:
    """What the federation and built-in directives on one element say."""

    inaccessible: bool = False
    tags: list[str] = field(default_factory=list)
    deprecated: DirectiveNode | None = None
    # Directives kept as they are in the supergraph (e.g. @specifiedBy).
    other: list[DirectiveNode] = field(default_factory=list)


@dataclass
class SubgraphArgument:
    name: str
    type: TypeNode
    description: StringValueNode | None
    default_value: ValueNode | None
    applied: Applied


@dataclass
class SubgraphField:
    name: str
    type: TypeNode
    description: StringValueNode | None
    arguments: dict[str, SubgraphArgument]
    applied: Applied
    default_value: ValueNode | None = None  # input fields
    external: bool = False
    shareable: bool = False
    requires: str | None = None
    provides: str | None = None
    override: str | None = None
    override_label: str | None = None


@dataclass
class SubgraphEnumValue:
    name: str
    description: StringValueNode | None
    applied: Applied


@dataclass
class SubgraphType:
    name: str
    kind: str
    description: StringValueNode | None = None
    fields: dict[str, SubgraphField] = field(default_factory=dict)
    interfaces: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    values: dict[str, SubgraphEnumValue] = field(default_factory=dict)
    keys: list[tuple[str, bool]] = field(default_factory=list)  # (field set, resolvable)
    extension: bool = True  # until a plain definition is seen
    shareable: bool = False
    interface_object: bool = False
    applied: Applied = field(default_factory=Applied)


class SubgraphSchema:
    def __init__(self, name: str, url: str):
        self.name = name
        self.url = url
        self.types: dict[str, SubgraphType] = {}
        self.roots: dict[str, str] = {}  # operation kind -> canonical root type name
        self.federation2 = False
        self._federation: LinkedFeature | None = None
        self._root_renames: dict[str, str] = {}
        self._declared_directives: set[str] = set()

    @classmethod
    def parse(cls, name: str, url: str, sdl: str) -> "SubgraphSchema":
        try:
            document = parse(sdl)
        except GraphQLError as error:
            raise SubgraphSchemaError(f'subgraph "{name}": its SDL does not parse: {error.message}') from None
        schema = cls(name, url)
        schema._read(document)
        return schema

    # ------------------------------------------------------------ reading

    def _read(self, document) -> None:
        features = linked_features(document)
        self._federation = find_feature(features, "federation")
        self.federation2 = self._federation is not None
        self._link_features = features
        self._declared_directives = {
            d.name.value for d in document.definitions if d.kind == "directive_definition"
        }
        declared_roots = {}
        for definition in document.definitions:
            if isinstance(definition, (SchemaDefinitionNode, SchemaExtensionNode)):
                for operation_type in definition.operation_types or ():
                    declared_roots[operation_type.operation.value] = operation_type.type.name.value
        defined = {d.name.value for d in document.definitions if type(d) in _DEFINITIONS}
        for kind, canonical in ROOT_NAMES.items():
            local = declared_roots.get(kind, canonical if canonical in defined else None)
            if local:
                self.roots[kind] = canonical
                if local != canonical:
                    self._root_renames[local] = canonical
        for definition in document.definitions:
            if type(definition) in _DEFINITIONS and not self._is_machinery_type(definition.name.value):
                self._read_type(definition)

    def _is_machinery_type(self, name: str) -> bool:
        if name in MACHINERY_TYPES:
            return True
        return any(feature.owns_type(name) for feature in self._link_features)

    def canonical_directive(self, local: str) -> str | None:
        """The federation directive a local name stands for, or None for any other directive."""
        if self._federation is not None:
            canonical = self._federation.canonical_directive(local)
            if canonical is not None:
                return canonical
        # Lenient: an undeclared, unprefixed federation directive name means that directive.
        if local in FEDERATION_DIRECTIVES and local not in self._declared_directives:
            return local
        return None

    def rename(self, name: str) -> str:
        return self._root_renames.get(name, name)

    def rename_type(self, node: TypeNode) -> TypeNode:
        if isinstance(node, NonNullTypeNode):
            inner = self.rename_type(node.type)
            assert isinstance(inner, (NamedTypeNode, ListTypeNode)), "non-null of a non-null"
            return NonNullTypeNode(type=inner)
        if isinstance(node, ListTypeNode):
            return ListTypeNode(type=self.rename_type(node.type))
        assert isinstance(node, NamedTypeNode)
        renamed = self.rename(node.name.value)
        return node if renamed == node.name.value else NamedTypeNode(name=NameNode(value=renamed))

    def _read_type(self, node) -> None:
        kind, is_extension = _DEFINITIONS[type(node)]
        name = self.rename(node.name.value)
        existing = self.types.get(name)
        if existing is None:
            existing = self.types[name] = SubgraphType(name, kind)
        elif existing.kind != kind:
            raise SubgraphSchemaError(f'subgraph "{self.name}": "{name}" is defined as both {existing.kind} and {kind}')
        if node.description is not None and existing.description is None:
            existing.description = node.description
        applied = Applied()
        for directive in node.directives or ():
            canonical = self.canonical_directive(directive.name.value)
            args = _args(directive)
            if canonical == "key":
                existing.keys.append((str(args.get("fields", "")).strip(), args.get("resolvable", True) is not False))
            elif canonical == "extends":
                is_extension = True
            elif canonical == "shareable":
                existing.shareable = True
            elif canonical == "interfaceObject":
                existing.interface_object = True
            else:
                self._apply_common(canonical, directive, args, applied)
        if not is_extension:
            existing.extension = False
        _merge_applied(existing.applied, applied)
        for interface in getattr(node, "interfaces", None) or ():
            if interface.name.value not in existing.interfaces:
                existing.interfaces.append(interface.name.value)
        for member in getattr(node, "types", None) or ():
            member_name = self.rename(member.name.value)
            if member_name not in existing.members and member_name not in MACHINERY_TYPES:
                existing.members.append(member_name)
        for value in getattr(node, "values", None) or ():
            value_applied = Applied()
            for directive in value.directives or ():
                self._apply_common(self.canonical_directive(directive.name.value), directive, _args(directive), value_applied)
            existing.values[value.name.value] = SubgraphEnumValue(value.name.value, value.description, value_applied)
        for field_node in getattr(node, "fields", None) or ():
            if kind == "OBJECT" and field_node.name.value in MACHINERY_FIELDS:
                continue
            existing.fields[field_node.name.value] = self._read_field(field_node, kind == "INPUT_OBJECT")

    def _read_field(self, node, is_input: bool) -> SubgraphField:
        applied = Applied()
        result = SubgraphField(
            node.name.value,
            self.rename_type(node.type),
            node.description,
            {},
            applied,
            default_value=node.default_value if is_input else None,
        )
        for directive in node.directives or ():
            canonical = self.canonical_directive(directive.name.value)
            args = _args(directive)
            if canonical == "external":
                result.external = True
            elif canonical == "shareable":
                result.shareable = True
            elif canonical == "requires":
                result.requires = str(args.get("fields", "")).strip()
            elif canonical == "provides":
                result.provides = str(args.get("fields", "")).strip()
            elif canonical == "override":
                result.override = args.get("from")
                result.override_label = args.get("label")
            else:
                self._apply_common(canonical, directive, args, applied)
        if not is_input:
            for argument in node.arguments or ():
                argument_applied = Applied()
                for directive in argument.directives or ():
                    self._apply_common(
                        self.canonical_directive(directive.name.value), directive, _args(directive), argument_applied
                    )
                result.arguments[argument.name.value] = SubgraphArgument(
                    argument.name.value,
                    self.rename_type(argument.type),
                    argument.description,
                    argument.default_value,
                    argument_applied,
                )
        return result

    def _apply_common(self, canonical: str | None, directive: DirectiveNode, args: dict, applied: Applied) -> None:
        if canonical == "inaccessible":
            applied.inaccessible = True
        elif canonical == "tag":
            name = args.get("name")
            if isinstance(name, str) and name not in applied.tags:
                applied.tags.append(name)
        elif canonical is not None:
            # Other federation directives (@authenticated, @cost, ...) are not composed yet.
            return
        elif directive.name.value == "deprecated":
            applied.deprecated = directive
        elif directive.name.value == "specifiedBy":
            applied.other.append(directive)


def _args(directive: DirectiveNode) -> dict:
    return {a.name.value: value_from_ast_untyped(a.value) for a in directive.arguments or ()}


def _merge_applied(into: Applied, more: Applied) -> None:
    into.inaccessible = into.inaccessible or more.inaccessible
    for tag in more.tags:
        if tag not in into.tags:
            into.tags.append(tag)
    into.deprecated = into.deprecated or more.deprecated
    into.other.extend(more.other)
