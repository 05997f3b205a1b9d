"""The last pass: the merged subgraph data cut to exactly what the client asked for.

Walks the client's operation over the API schema the way GraphQL execution would
(CollectFields with @skip/@include and type conditions, per runtime type), so planner-added
keys and `__typename`s disappear, aliases and field order are the client's, `__typename`
is answered from the schema, values of enums outside the API schema are refused, and a
null in a non-null position propagates to the nearest nullable parent as the GraphQL spec
says. A null that no subgraph error explains gets its own error, with its path."""
from __future__ import annotations

from typing import Any, Mapping

from graphql import (
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationType,
    SchemaMetaFieldDef,
    TypeMetaFieldDef,
    is_abstract_type,
    is_leaf_type,
)

from router.errors import RouterErrorCode
from router.operation import Field, Operation, Selection, is_included, typed_alias


class _Null(Exception):
    """A non-null position is null: the nearest nullable parent becomes null."""


_NULL = _Null()


_OPERATION_TYPES = {"query": OperationType.QUERY, "mutation": OperationType.MUTATION, "subscription": OperationType.SUBSCRIPTION}


class ResponseShaper:
    def __init__(self, schema: GraphQLSchema):
        self.schema = schema

    def shape(
        self,
        operation: Operation,
        data: Mapping[str, Any] | None,
        variables: Mapping[str, Any],
        errors: list[dict[str, Any]],
    ) -> dict[str, Any] | None:
        """The client's `data`; appends an error for every unexplained null to `errors`."""
        root = self.schema.get_root_type(_OPERATION_TYPES[operation.kind])
        if root is None:
            return None
        walk = _Walk(self.schema, variables, errors)
        try:
            return walk.object(root, operation.selections, data or {}, ())
        except _Null:
            return None


class _Walk:
    def __init__(self, schema: GraphQLSchema, variables: Mapping[str, Any], errors: list[dict[str, Any]]):
        self.schema = schema
        self.variables = variables
        self.errors = errors
        self._explained: set[tuple] | None = None
        self._explains_all = False
        # Collected fields, as a plan per (selection set, runtime type): every item of a list
        # shares it. Only for this request, so ids of the operation's tuples cannot be stale.
        self._plans: dict[tuple[int, str], list[tuple]] = {}

    # ------------------------------------------------------------ objects

    def collect(self, object_type: GraphQLObjectType, selections: tuple[Selection, ...], into: dict[str, list[Field]]) -> None:
        for selection in selections:
            if selection.conditions and not is_included(selection.conditions, self.variables):
                continue
            if isinstance(selection, Field):
                found = into.get(selection.response_key)
                if found is None:
                    into[selection.response_key] = [selection]
                else:
                    found.append(selection)
            else:
                condition = selection.type_condition
                if condition is None or condition == object_type.name or self._applies(condition, object_type):
                    self.collect(object_type, selection.selections, into)

    def _applies(self, condition: str, object_type: GraphQLObjectType) -> bool:
        condition_type = self.schema.get_type(condition)
        return condition_type is not None and is_abstract_type(condition_type) and self.schema.is_sub_type(
            condition_type, object_type
        )

    def object(self, object_type: GraphQLObjectType, selections, value: Mapping[str, Any], path: tuple) -> dict[str, Any]:
        cache_key = (id(selections), object_type.name)
        plan = self._plans.get(cache_key)
        if plan is None:
            plan = self._plans[cache_key] = self._plan(object_type, selections)
        parent = object_type.name
        out: dict[str, Any] = {}
        for key, name, type_, sub, alias, scalar in plan:
            if type_ is None:
                out[key] = parent  # __typename
                continue
            raw = value.get(key)
            if raw is None:
                # The planner may have fetched it under a type-scoped alias (operation.typed_alias).
                raw = value.get(alias)
            if scalar and raw is not None:
                out[key] = raw  # the common case, a scalar that is there: nothing to check or shape
                continue
            out[key] = self.value(type_, sub, raw, path + (key,), parent, name)
        return out

    def _plan(self, object_type: GraphQLObjectType, selections) -> list[tuple]:
        """Per response key: (key, field name, type or None for __typename, merged
        sub-selections, type-scoped alias, whether the type is a scalar), computed once per
        (selection set, runtime type); every object of a list shares it."""
        fields: dict[str, list[Field]] = {}
        self.collect(object_type, selections, fields)
        plan: list[tuple[str, str, Any, tuple[Selection, ...], str, bool]] = []
        for key, nodes in fields.items():
            first = nodes[0]
            name = first.name
            if name == "__typename":
                plan.append((key, name, None, (), "", False))
                continue
            definition = object_type.fields.get(name)
            if definition is None:
                if name == "__schema":
                    definition = SchemaMetaFieldDef
                elif name == "__type":
                    definition = TypeMetaFieldDef
                else:
                    continue
            # Merged once here, so the tuple lives as long as the plan (its id keys the cache).
            sub = first.selections if len(nodes) == 1 else tuple(s for n in nodes for s in n.selections)
            named = definition.type.of_type if isinstance(definition.type, GraphQLNonNull) else definition.type
            plan.append((key, name, definition.type, sub, typed_alias(object_type.name, key), isinstance(named, GraphQLScalarType)))
        return plan

    # ------------------------------------------------------------ values

    def value(self, type_, selections, value: Any, path: tuple, parent: str, field: str) -> Any:
        if isinstance(type_, GraphQLNonNull):
            result = self.nullable(type_.of_type, selections, value, path, parent, field)
            if result is None:
                self._null_error(path, parent, field)
                raise _NULL
            return result
        try:
            return self.nullable(type_, selections, value, path, parent, field)
        except _Null:
            return None

    def nullable(self, type_, selections, value: Any, path: tuple, parent: str, field: str) -> Any:
        if value is None:
            return None
        if isinstance(type_, GraphQLList):
            if not isinstance(value, list):
                self._error(path, f"Expected a list for {parent}.{field}.")
                return None
            item_type = type_.of_type
            return [self.value(item_type, selections, item, path + (i,), parent, field) for i, item in enumerate(value)]
        if isinstance(type_, GraphQLScalarType):
            return value
        if is_leaf_type(type_):
            if isinstance(type_, GraphQLEnumType) and (not isinstance(value, str) or value not in type_.values):
                self._error(path, f'Enum "{type_.name}" cannot represent value: {value!r}.')
                return None
            return value
        if not isinstance(value, dict):
            self._error(path, f"Expected an object for {parent}.{field}.")
            return None
        if isinstance(type_, GraphQLObjectType):
            return self.object(type_, selections, value, path)
        runtime_name = value.get("__typename")
        if runtime_name == type_.name and isinstance(type_, GraphQLInterfaceType):
            # From an @interfaceObject subgraph, and the client asked nothing type-specific:
            # the interface's own fields are all there is to shape.
            return self.object(type_, selections, value, path)  # type: ignore[arg-type]
        runtime = self.schema.get_type(runtime_name) if isinstance(runtime_name, str) else None
        if not isinstance(runtime, GraphQLObjectType) or not self.schema.is_sub_type(type_, runtime):
            self._error(path, f'Abstract type "{type_.name}" did not resolve to one of its object types.')
            return None
        return self.object(runtime, selections, value, path)

    # ------------------------------------------------------------ errors

    def _null_error(self, path: tuple, parent: str, field: str) -> None:
        # Explained by an error at or below this path, or at or below a sibling's: a
        # subgraph that nulled the parent object for a failing non-null sibling (an entity
        # answered null for the field that failed) leaves every other field of it missing.
        if self._is_explained(path) or (len(path) > 1 and self._is_explained(path[:-1])):
            return
        self._error(path, f"Cannot return null for non-nullable field {parent}.{field}.")

    def _is_explained(self, path: tuple) -> bool:
        if self._explained is None:
            self._explained = set()
            for error in self.errors:
                error_path = error.get("path")
                if not error_path:
                    self._explains_all = True
                    continue
                error_path = tuple(error_path)
                for end in range(1, len(error_path) + 1):
                    self._explained.add(error_path[:end])
                self._explained.add(("=",) + error_path)
        if self._explains_all or path in self._explained:
            return True  # an error at or below this path
        return any(("=",) + path[:end] in self._explained for end in range(1, len(path)))

    def _error(self, path: tuple, message: str) -> None:
        self.errors.append(
            {"message": message, "path": list(path), "extensions": {"code": RouterErrorCode.INTERNAL_SERVER_ERROR.value}}
        )
        if self._explained is not None:
            self._explained.add(("=",) + path)
            for end in range(1, len(path) + 1):
                self._explained.add(path[:end])
