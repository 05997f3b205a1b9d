"""The client's operation as one small tree that every later stage walks.

Named fragment spreads are expanded into inline fragments (a spread behaves exactly like an
inline fragment with the fragment's type condition), so the planner, the response shaper
and the printer of subgraph operations handle two node kinds only: `Field` and
`InlineFragment`. Arguments, directives and variable definitions stay graphql-core AST
nodes: they are forwarded to subgraphs verbatim and printed with graphql-core's printer."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableDefinitionNode,
    VariableNode,
    print_ast,
)
from graphql.language import Visitor, visit

# A @skip/@include condition: (directive is "skip", literal bool or variable name).
Condition = tuple[bool, bool | str]


class Field:
    __slots__ = ("name", "alias", "arguments", "directives", "selections", "response_key", "conditions", "variables")

    def __init__(
        self,
        name: str,
        alias: str | None = None,
        arguments: tuple[ArgumentNode, ...] = (),
        directives: tuple[DirectiveNode, ...] = (),
        selections: tuple["Selection", ...] = (),
    ):
        self.name = name
        self.alias = alias if alias != name else None
        self.arguments = arguments
        self.directives = directives
        self.selections = selections
        self.response_key = alias or name
        self.conditions = conditions_of(directives)
        self.variables = variables_in(arguments, directives)

    def with_selections(self, selections: tuple["Selection", ...]) -> "Field":
        return Field(self.name, self.alias, self.arguments, self.directives, selections)

    def __repr__(self) -> str:
        return f"Field({print_selections((self,))})"


class InlineFragment:
    __slots__ = ("type_condition", "directives", "selections", "conditions", "variables")

    def __init__(
        self,
        type_condition: str | None,
        selections: tuple["Selection", ...],
        directives: tuple[DirectiveNode, ...] = (),
    ):
        self.type_condition = type_condition
        self.directives = directives
        self.selections = selections
        self.conditions = conditions_of(directives)
        self.variables = variables_in((), directives)

    def __repr__(self) -> str:
        return f"InlineFragment({print_selections((self,))})"


Selection = Field | InlineFragment


class Operation:
    """One executable operation of the client's document, fragments expanded."""

    __slots__ = ("kind", "name", "variable_definitions", "selections")

    def __init__(
        self,
        kind: str,
        name: str | None,
        variable_definitions: tuple[VariableDefinitionNode, ...],
        selections: tuple[Selection, ...],
    ):
        self.kind = kind
        self.name = name
        self.variable_definitions = variable_definitions
        self.selections = selections


class OperationNotFound(Exception):
    pass


def select_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        for operation in operations:
            if operation.name and operation.name.value == operation_name:
                return operation
        raise OperationNotFound(f'Unknown operation named "{operation_name}".')
    if len(operations) == 1:
        return operations[0]
    if not operations:
        raise OperationNotFound("The document contains no operation.")
    raise OperationNotFound("Must provide operation name if query contains multiple operations.")


def can_inline(document: DocumentNode) -> bool:
    """Whether `normalize` can inline this document's fragments before validation has run:
    every spread names a fragment and no fragment reaches itself. Linear in the document."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    done: set[str] = set()

    def sound(selection_set: SelectionSetNode | None, visiting: frozenset[str]) -> bool:
        for node in selection_set.selections if selection_set is not None else ():
            if isinstance(node, FragmentSpreadNode):
                name = node.name.value
                if name in visiting or name not in fragments:
                    return False
                if name not in done:
                    if not sound(fragments[name].selection_set, visiting | {name}):
                        return False
                    done.add(name)
            elif not sound(getattr(node, "selection_set", None), visiting):
                return False
        return True

    return all(sound(getattr(d, "selection_set", None), frozenset()) for d in document.definitions)


def normalize(document: DocumentNode, operation_name: str | None = None) -> Operation:
    """The chosen operation with every fragment spread inlined. Expects a validated document
    (no fragment cycles, known fragments)."""
    definition = select_operation(document, operation_name)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return Operation(
        definition.operation.value,
        definition.name.value if definition.name else None,
        tuple(definition.variable_definitions or ()),
        _convert(definition.selection_set, fragments),
    )


def _convert(selection_set: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode]) -> tuple:
    if selection_set is None:
        return ()
    converted: list[Selection] = []
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            converted.append(
                Field(
                    node.name.value,
                    node.alias.value if node.alias else None,
                    tuple(node.arguments or ()),
                    tuple(node.directives or ()),
                    _convert(node.selection_set, fragments),
                )
            )
        elif isinstance(node, InlineFragmentNode):
            converted.append(
                InlineFragment(
                    node.type_condition.name.value if node.type_condition else None,
                    _convert(node.selection_set, fragments),
                    tuple(node.directives or ()),
                )
            )
        elif isinstance(node, FragmentSpreadNode):
            fragment = fragments[node.name.value]
            converted.append(
                InlineFragment(
                    fragment.type_condition.name.value,
                    _convert(fragment.selection_set, fragments),
                    tuple(node.directives or ()),
                )
            )
    return tuple(converted)


# ---------------------------------------------------------------- @skip / @include


def conditions_of(directives: Iterable[DirectiveNode]) -> tuple[Condition, ...]:
    conditions: list[Condition] = []
    for directive in directives:
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        for argument in directive.arguments or ():
            if argument.name.value != "if":
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                conditions.append((name == "skip", value.name.value))
            else:
                conditions.append((name == "skip", bool(getattr(value, "value", False))))
    return tuple(conditions)


def is_included(conditions: tuple[Condition, ...], variables: Mapping[str, Any]) -> bool:
    for skip, value in conditions:
        flag = variables.get(value) if isinstance(value, str) else value
        if bool(flag) == skip:
            return False
    return True


# ---------------------------------------------------------------- variables


class _VariableCollector(Visitor):
    def __init__(self):
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: VariableNode, *_):
        self.names.add(node.name.value)


def variables_in(arguments: Iterable[ArgumentNode], directives: Iterable[DirectiveNode]) -> frozenset[str]:
    collector = None
    for node in (*arguments, *directives):
        collector = collector or _VariableCollector()
        visit(node, collector)
    return frozenset(collector.names) if collector else frozenset()


def selection_variables(selections: Iterable[Selection]) -> set[str]:
    """Every variable used anywhere in `selections`, in arguments or directives."""
    found: set[str] = set()
    stack = list(selections)
    while stack:
        selection = stack.pop()
        found |= selection.variables
        stack.extend(selection.selections)
    return found


# ---------------------------------------------------------------- printing


def print_selections(selections: Iterable[Selection], indent: int | None = None) -> str:
    """A selection set as GraphQL text: compact (`{a b{c}}`, what goes over the wire) when
    `indent` is None, else one selection per line starting at that indentation."""
    out: list[str] = []
    if indent is None:
        _print_compact(selections, out)
    else:
        _print_pretty(selections, indent, out)
    return "".join(out)


def _head(selection: Selection) -> str:
    if isinstance(selection, Field):
        text = f"{selection.alias}: {selection.name}" if selection.alias else selection.name
        if selection.arguments:
            text += "(" + ", ".join(print_ast(a) for a in selection.arguments) + ")"
    else:
        text = f"... on {selection.type_condition}" if selection.type_condition else "..."
    for directive in selection.directives:
        text += " " + print_ast(directive)
    return text


def _print_compact(selections: Iterable[Selection], out: list[str]) -> None:
    out.append("{")
    first = True
    for selection in selections:
        if not first:
            out.append(" ")
        first = False
        head = _head(selection)
        out.append(head.replace("... on ", "...on ") if isinstance(selection, InlineFragment) else head)
        if selection.selections:
            _print_compact(selection.selections, out)
    out.append("}")


def _print_pretty(selections: Iterable[Selection], indent: int, out: list[str]) -> None:
    pad = "  " * indent
    out.append("{\n")
    for selection in selections:
        out.append(pad + "  " + _head(selection))
        if selection.selections:
            out.append(" ")
            _print_pretty(selection.selections, indent + 1, out)
        out.append("\n")
    out.append(pad + "}")


def print_variable_definitions(definitions: Iterable[VariableDefinitionNode]) -> str:
    printed = [print_ast(d) for d in definitions]
    return "(" + ", ".join(printed) + ")" if printed else ""


def typed_alias(type_name: str, response_key: str) -> str:
    """Where the planner fetches a field whose response key another fragment at the same
    level uses with another type (e.g. ID! and ID in one subgraph); router.response reads
    it back from there for objects of `type_name`."""
    return f"_{type_name}_{response_key}_typed"


def parse_selection_set(text: str) -> tuple[Selection, ...]:
    """A federation field set (`"id"`, `"id organization { id }"`) as selections."""
    from graphql import parse

    document = parse("{" + text + "}", no_location=True)
    definition = document.definitions[0]
    assert isinstance(definition, OperationDefinitionNode)
    return _convert(definition.selection_set, {})
