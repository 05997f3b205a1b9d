"""A request's way through the router, transport aside:
operation (parse, validate, limits) -> query plan -> execution -> response.

`prepare` does everything that depends only on the operation text and name, and caches the
result (errors included) in an LRU; `execute` does the per-request part: variable
coercion, running the plan, answering introspection from the API schema, shaping."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    ValuesOfCorrectTypeRule,
    execute as graphql_execute,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import get_variable_values
from opentelemetry import trace

from mybroker.auth import USER_HEADER
from mybroker.errors import ErrorCode
from router.errors import PlanningError, RequestError
from router.executor import Executor
from router.cost import CostModel, OperationCost, too_expensive
from router.limits import OperationLimits, check_inlined_size, check_limits
from router.operation import (
    Field,
    InlineFragment,
    Operation,
    OperationNotFound,
    Selection,
    normalize,
    print_selections,
    print_variable_definitions,
    select_operation,
    selection_variables,
)
from router.operation_cache import LruCache
from router.plan import QueryPlan
from router.planner import INTROSPECTION_FIELDS, QueryPlanner
from router.response import ResponseShaper
from router.supergraph import Supergraph

log = logging.getLogger("router.pipeline")

# Wrong argument values are the caller's input, not a malformed operation.
_STRUCTURE_RULES = tuple(rule for rule in specified_rules if rule is not ValuesOfCorrectTypeRule)
_VALUE_RULES = (ValuesOfCorrectTypeRule,)


@dataclass(frozen=True)
class GraphQLRequest:
    query: str | None
    variables: Mapping[str, Any] | None = None
    operation_name: str | None = None


@dataclass(frozen=True)
class PreparedOperation:
    definition: OperationDefinitionNode
    operation: Operation
    # None only when the operation's cost is over every caller's limit: never executed.
    plan: QueryPlan | None
    # The introspection part of the operation, answered by the router itself.
    introspection: DocumentNode | None
    # Demand control: the cost tree, estimated per request (variables) and measured after.
    cost: OperationCost

    @property
    def kind(self) -> str:
        return self.operation.kind


@dataclass
class ExecutionOutcome:
    body: dict[str, Any]
    status: int = 200
    # query | mutation | subscription once the operation is known (metrics, traces).
    kind: str | None = None
    # HTTP headers beside the body (Retry-After on a rate-limit refusal).
    headers: Mapping[str, str] | None = None


class RouterPipeline:
    def __init__(
        self,
        supergraph: Supergraph,
        executor: Executor,
        *,
        limits: OperationLimits | None = None,
        cache_size: int = 1000,
        introspection: bool = True,
        tracer: trace.Tracer | None = None,
        cost_model: CostModel | None = None,
        metrics: Any = None,
    ):
        self.supergraph = supergraph
        self.schema = supergraph.api_schema
        self.executor = executor
        self.limits = limits or OperationLimits()
        self.introspection = introspection
        self.cost_model = cost_model or CostModel(self.schema)
        # router.metrics.RouterMetrics or None: estimated and actual costs, refusals.
        self.metrics = metrics
        self._tracer = tracer or trace.get_tracer("mybroker.router")
        self.planner = QueryPlanner(supergraph)
        self.shaper = ResponseShaper(self.schema)
        self._cache: LruCache[PreparedOperation | RequestError] = LruCache(cache_size)

    # ------------------------------------------------------------ operation stage

    def prepare(self, query: str | None, operation_name: str | None = None) -> PreparedOperation:
        if not isinstance(query, str) or not query.strip():
            raise RequestError(ErrorCode.GRAPHQL_PARSE_FAILED, "The request has no GraphQL query.")
        key = (query, operation_name)
        cached = self._cache.get(key)
        if cached is None:
            with self._tracer.start_as_current_span("router.prepare"):  # parse, validate, limits, plan
                try:
                    cached = self._prepare(query, operation_name)
                except RequestError as error:
                    cached = error
            self._cache.put(key, cached)
        if isinstance(cached, RequestError):
            raise cached
        return cached

    def _prepare(self, query: str, operation_name: str | None) -> PreparedOperation:
        tokens = self.limits.max_tokens
        try:
            document = parse(query, max_lexical_tokens=tokens, max_comments=tokens)
        except GraphQLSyntaxError as error:
            if "Parsing aborted" in error.message:  # a parser limit, not a typo
                raise RequestError(ErrorCode.OPERATION_TOO_COMPLEX, error.message) from None
            raise RequestError(ErrorCode.GRAPHQL_PARSE_FAILED, error.message, locations=_locations(error)) from None
        check_inlined_size(document, self.limits)  # before validation and inlining pay for a fragment bomb
        errors = validate(self.schema, document, _STRUCTURE_RULES)
        if errors:
            raise _request_errors(ErrorCode.GRAPHQL_VALIDATION_FAILED, errors)
        errors = validate(self.schema, document, _VALUE_RULES)
        if errors:
            raise _request_errors(ErrorCode.BAD_USER_INPUT, errors)
        try:
            definition = select_operation(document, operation_name)
        except OperationNotFound as error:
            raise RequestError(ErrorCode.GRAPHQL_VALIDATION_FAILED, str(error)) from None
        operation = normalize(document, operation_name)
        check_limits(operation, self.limits)
        if not self.introspection and _introspection_only(operation.selections):
            raise RequestError(
                ErrorCode.INTROSPECTION_DISABLED, "Introspection is disabled on this router (__typename is still allowed)."
            )
        cost = self.cost_model.compile(operation)
        # Too expensive for every caller whatever the variables: check_cost refuses it on
        # every request, so it is never planned (planning is the dearest stage left).
        plan = None if self._refused_for_everyone(cost) else self._plan(operation, operation_name)
        return PreparedOperation(definition, operation, plan, _introspection_document(operation), cost)

    def _plan(self, operation: Operation, operation_name: str | None) -> QueryPlan:
        try:
            return self.planner.plan(operation)
        except PlanningError as error:
            log.error("planning failed for %r: %s", operation_name, error)
            raise RequestError(ErrorCode.INTERNAL_SERVER_ERROR, f"The operation could not be planned: {error}", status=500) from None

    def _refused_for_everyone(self, cost: OperationCost) -> bool:
        static = cost.static_estimate
        limits = (self.limits.max_cost, self.limits.max_cost_anonymous)
        return static is not None and all(limit is not None and static > limit for limit in limits)

    # ------------------------------------------------------------ execution stage

    async def execute(
        self, request: GraphQLRequest, headers: Mapping[str, str], *, allow_mutations: bool = True, include_plan: bool = False,
        charge: Callable[[int], Awaitable[RequestError | None]] | None = None,
    ) -> ExecutionOutcome:
        """`charge(cost)`, when given, bills the operation's estimated cost (the edge's rate
        limits per second of cost) once it is known and before anything runs; a RequestError
        it returns refuses the operation."""
        prepared = None
        try:
            prepared = self.prepare(request.query, request.operation_name)
            if prepared.kind == "mutation" and not allow_mutations:
                raise RequestError(ErrorCode.BAD_USER_INPUT, "Mutations must be sent with POST, not GET.", status=405)
            if prepared.kind == "subscription":
                raise RequestError(
                    ErrorCode.GRAPHQL_VALIDATION_FAILED,
                    "Subscriptions are served over WebSocket (graphql-transport-ws), Server-Sent Events "
                    '(Accept: text/event-stream) or multipart HTTP (Accept: multipart/mixed;subscriptionSpec="1.0").',
                )
            raw_variables = request.variables or {}
            coerced = self.coerce_variables(prepared, raw_variables)
            estimated = self.check_cost(prepared, coerced, headers)
            refusal = await charge(estimated) if charge is not None else None
            if refusal is not None:
                raise refusal
        except RequestError as error:
            return ExecutionOutcome({"errors": error.to_errors()}, error.status, prepared.kind if prepared else None, error.headers)

        state = await self.executor.execute(prepared.plan, raw_variables, headers)
        if prepared.introspection is not None:
            self._introspect(prepared.introspection, raw_variables, state)
        data = self.shaper.shape(prepared.operation, state.data, coerced, state.errors)
        if self.metrics is not None:
            self.metrics.observe_cost(estimated, prepared.cost.actual(data))
        body: dict[str, Any] = {"data": data}
        if state.errors:
            body["errors"] = state.errors
        if include_plan:
            body["extensions"] = {"queryPlan": prepared.plan.pretty()}
        return ExecutionOutcome(body, kind=prepared.kind)

    def coerce_variables(self, prepared: PreparedOperation, raw_variables: Any) -> dict[str, Any]:
        """The variables as the operation declares them; RequestError (BAD_USER_INPUT) if not."""
        if not isinstance(raw_variables, Mapping):
            raise RequestError(ErrorCode.BAD_USER_INPUT, "Variables must be a JSON object.")
        coerced = get_variable_values(self.schema, prepared.definition.variable_definitions or (), dict(raw_variables))
        if isinstance(coerced, list):
            raise _request_errors(ErrorCode.BAD_USER_INPUT, coerced)
        # graphql-core 3.3 wraps the values (VariableValues.coerced); 3.2 returns the dict.
        return getattr(coerced, "coerced", coerced)

    def check_cost(self, prepared: PreparedOperation, coerced: Mapping[str, Any], headers: Mapping[str, str] | None) -> int:
        """The operation's estimated cost; RequestError (OPERATION_TOO_COMPLEX) over the
        caller's limit. `headers` are the subgraph headers the router built: they carry the
        user id exactly when the caller's token was verified, so they say who is signed in."""
        estimated = prepared.cost.estimate(coerced)
        signed_in = bool(headers) and USER_HEADER in headers
        refusal = too_expensive(estimated, self.limits.max_cost if signed_in else self.limits.max_cost_anonymous)
        if refusal is not None:
            if self.metrics is not None:
                self.metrics.observe_cost_refusal(signed_in)
            raise refusal
        return estimated

    def _introspect(self, document: DocumentNode, variables: Mapping[str, Any], state) -> None:
        result = graphql_execute(self.schema, document, variable_values=dict(variables))
        if result.data:
            state.data.update(result.data)
        for error in result.errors or ():
            state.errors.append(
                {"message": error.message, "path": list(error.path or ()), "extensions": {"code": ErrorCode.BAD_USER_INPUT.value}}
            )

    def explain(self, query: str, operation_name: str | None = None) -> str:
        """The plan of an operation, printed (for `mybroker plan` and debugging)."""
        prepared = self.prepare(query, operation_name)
        return (prepared.plan or self._plan(prepared.operation, operation_name)).pretty()


def explain(supergraph: Supergraph, query: str, operation_name: str | None = None) -> str:
    """`QueryPlan.pretty()` for an operation text; raises RequestError if it is invalid."""
    return RouterPipeline(supergraph, Executor(_NoClient(), {})).explain(query, operation_name)


class _NoClient:
    async def fetch(self, url: str, body: dict, headers: dict) -> dict:  # pragma: no cover - never executed
        raise RuntimeError("explain does not execute")


# ---------------------------------------------------------------- helpers


def _locations(error: GraphQLError) -> list[dict[str, int]] | None:
    if not error.locations:
        return None
    return [{"line": loc.line, "column": loc.column} for loc in error.locations]


def _request_errors(code: ErrorCode, errors: list[GraphQLError]) -> RequestError:
    formatted = []
    for error in errors:
        entry: dict[str, Any] = {"message": error.message}
        locations = _locations(error)
        if locations:
            entry["locations"] = locations
        entry["extensions"] = {"code": code.value}
        formatted.append(entry)
    return RequestError(code, formatted[0]["message"], errors=formatted)


def _introspection_document(operation: Operation) -> DocumentNode | None:
    """`__schema`/`__type` root selections as their own document, or None if there are none."""
    selections = _introspection_only(operation.selections)
    if not selections:
        return None
    used = selection_variables(selections)
    definitions = [d for d in operation.variable_definitions if d.variable.name.value in used]
    return parse("query" + print_variable_definitions(definitions) + print_selections(selections))


def _introspection_only(selections: tuple[Selection, ...]) -> tuple[Selection, ...]:
    kept: list[Selection] = []
    for selection in selections:
        if isinstance(selection, Field):
            if selection.name in INTROSPECTION_FIELDS:
                kept.append(selection)
        else:
            inner = _introspection_only(selection.selections)
            if inner:
                kept.append(InlineFragment(selection.type_condition, inner, selection.directives))
    return tuple(kept)
