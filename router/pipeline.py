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
    execute_sync,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import get_variable_values
from opentelemetry import trace

from router.tracing import QuietTracer
from router.identity_headers import USER_HEADER
from router.errors import GRAPHQL_REQUEST_ERROR_STATUS, PlanningError, RequestError, RouterErrorCode
from router.executor import Executor
from router.cost import CostModel, OperationCost, too_expensive
from router.limits import OperationLimits, check_inlined_size, check_limits
from router.operation import (
    Field,
    InlineFragment,
    Operation,
    OperationNotFound,
    Selection,
    can_inline,
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
    plan: QueryPlan
    # The introspection part of the operation, answered by the router itself.
    introspection: DocumentNode | None
    # Demand control: the cost tree, estimated per request (variables) and measured after.
    cost: OperationCost

    @property
    def kind(self) -> str:
        return self.operation.kind


@dataclass(frozen=True)
class OverEveryLimit:
    """What the cache keeps for an operation too dear for every caller: its (least) cost,
    refused on each request with that caller's own limit."""

    cost: int
    at_least: bool = False


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
        tracer: trace.Tracer | QuietTracer | None = None,
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
        self._cache: LruCache[PreparedOperation | OverEveryLimit | RequestError] = LruCache(cache_size)

    # ------------------------------------------------------------ operation stage

    def prepare(
        self, query: str | None, operation_name: str | None = None, headers: Mapping[str, str] | None = None
    ) -> PreparedOperation:
        """The operation ready to run; RequestError if it cannot run. `headers` (the subgraph
        headers of the caller) say whose cost limit an operation too dear for everyone is
        refused with."""
        if not isinstance(query, str) or not query.strip():
            raise RequestError(RouterErrorCode.GRAPHQL_PARSE_FAILED, "The request has no GraphQL query.")
        key = (query, operation_name)
        cached = self._cache.get(key)
        if cached is None:
            with self._tracer.start_as_current_span("router.prepare"):  # parse, validate, limits, plan
                try:
                    cached = self._prepare(query, operation_name)
                except RequestError as error:
                    cached = error
            self._cache.put(key, cached)
        if isinstance(cached, OverEveryLimit):
            refusal = self._cost_refusal(cached.cost, headers, at_least=cached.at_least)
            assert refusal is not None, "over every limit: refused to whoever asks"
            raise refusal
        if isinstance(cached, RequestError):
            raise cached
        return cached

    def _prepare(self, query: str, operation_name: str | None, *, refuse_dear: bool = True) -> "PreparedOperation | OverEveryLimit":
        tokens = self.limits.max_tokens
        try:
            document = parse(query, max_lexical_tokens=tokens, max_comments=tokens)
        except GraphQLSyntaxError as error:
            if "Parsing aborted" in error.message:  # a parser limit, not a typo
                raise RequestError(RouterErrorCode.OPERATION_TOO_COMPLEX, error.message) from None
            raise RequestError(
                RouterErrorCode.GRAPHQL_PARSE_FAILED, error.message, locations=_locations(error), status=GRAPHQL_REQUEST_ERROR_STATUS
            ) from None
        check_inlined_size(document, self.limits)  # before validation and inlining pay for a fragment bomb
        # Validating a 20 KB document takes 60 ms, three times parsing it: an operation too
        # dear for every caller is refused before that, from the cost of what it asks for
        # (an invalid one then gets OPERATION_TOO_COMPLEX rather than its validation errors).
        # Inlining first is safe once the fragment bomb check has bounded its size.
        operation = self._inlined_early(document, operation_name) if refuse_dear else None
        cost = self.cost_model.compile(operation) if operation is not None else None
        if cost is not None and (dear := self._over_every_limit(cost)):
            return dear
        errors = validate(self.schema, document, _STRUCTURE_RULES)
        if errors:
            raise _request_errors(RouterErrorCode.GRAPHQL_VALIDATION_FAILED, errors)
        errors = validate(self.schema, document, _VALUE_RULES)
        if errors:
            raise _request_errors(RouterErrorCode.BAD_USER_INPUT, errors)
        try:
            definition = select_operation(document, operation_name)
        except OperationNotFound as error:
            raise RequestError(RouterErrorCode.GRAPHQL_VALIDATION_FAILED, str(error), status=GRAPHQL_REQUEST_ERROR_STATUS) from None
        if operation is None:
            operation = normalize(document, operation_name)
        check_limits(operation, self.limits)
        if not self.introspection and _introspection_only(operation.selections):
            raise RequestError(
                RouterErrorCode.INTROSPECTION_DISABLED, "Introspection is disabled on this router (__typename is still allowed)."
            )
        if cost is None:
            cost = self.cost_model.compile(operation)
            # Too expensive for every caller whatever the variables: never planned (planning
            # is the dearest stage left).
            if refuse_dear and (dear := self._over_every_limit(cost)):
                return dear
        return PreparedOperation(definition, operation, self._plan(operation, operation_name), _introspection_document(operation), cost)

    def _inlined_early(self, document: DocumentNode, operation_name: str | None) -> Operation | None:
        """The operation inlined before validation, when that is bounded (the fragment bomb
        check ran) and safe (its fragments resolve); None otherwise."""
        if self.limits.max_fields is None or not can_inline(document):
            return None
        try:
            return normalize(document, operation_name)
        except OperationNotFound:
            return None

    def _plan(self, operation: Operation, operation_name: str | None) -> QueryPlan:
        try:
            return self.planner.plan(operation)
        except PlanningError as error:
            log.error("planning failed for %r: %s", operation_name, error)
            raise RequestError(RouterErrorCode.INTERNAL_SERVER_ERROR, f"The operation could not be planned: {error}", status=500) from None

    def _over_every_limit(self, cost: OperationCost) -> "OverEveryLimit | None":
        """The operation's least cost when it is over every caller's limit, else None."""
        least = cost.lower_bound()
        limits = (self.limits.max_cost, self.limits.max_cost_anonymous)
        if all(limit is not None and least > limit for limit in limits):
            return OverEveryLimit(least, at_least=cost.static_estimate is None)
        return None

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
            prepared = self.prepare(request.query, request.operation_name, headers)
            if prepared.kind == "mutation" and not allow_mutations:
                raise RequestError(RouterErrorCode.BAD_USER_INPUT, "Mutations must be sent with POST, not GET.", status=405)
            if prepared.kind == "subscription":
                raise RequestError(
                    RouterErrorCode.GRAPHQL_VALIDATION_FAILED,
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
            raise RequestError(RouterErrorCode.BAD_USER_INPUT, "Variables must be a JSON object.")
        coerced = get_variable_values(self.schema, prepared.definition.variable_definitions or (), dict(raw_variables))
        if isinstance(coerced, list):
            raise _request_errors(RouterErrorCode.BAD_USER_INPUT, coerced)
        # graphql-core 3.3 wraps the values (VariableValues.coerced); 3.2 returns the dict.
        values: Any = getattr(coerced, "coerced", coerced)
        return values

    def check_cost(self, prepared: PreparedOperation, coerced: Mapping[str, Any], headers: Mapping[str, str] | None) -> int:
        """The operation's estimated cost; RequestError (OPERATION_TOO_COMPLEX) over the
        caller's limit. `headers` are the subgraph headers the router built: they carry the
        user id exactly when the caller's token was verified, so they say who is signed in."""
        estimated = prepared.cost.estimate(coerced)
        refusal = self._cost_refusal(estimated, headers)
        if refusal is not None:
            raise refusal
        return estimated

    def _cost_refusal(self, cost: int, headers: Mapping[str, str] | None, *, at_least: bool = False) -> RequestError | None:
        signed_in = headers is not None and USER_HEADER in headers
        refusal = too_expensive(cost, self.limits.max_cost if signed_in else self.limits.max_cost_anonymous, at_least=at_least)
        if refusal is not None and self.metrics is not None:
            self.metrics.observe_cost_refusal(signed_in)
        return refusal

    def _introspect(self, document: DocumentNode, variables: Mapping[str, Any], state) -> None:
        # Introspection resolves synchronously: execute_sync says so to mypy too.
        result = execute_sync(self.schema, document, variable_values=dict(variables))
        if result.data:
            state.data.update(result.data)
        for error in result.errors or ():
            state.errors.append(
                {"message": error.message, "path": list(error.path or ()), "extensions": {"code": RouterErrorCode.BAD_USER_INPUT.value}}
            )

    def explain(self, query: str, operation_name: str | None = None) -> str:
        """The plan of an operation, printed (for `mybroker plan` and debugging)."""
        prepared = self._prepare(query, operation_name, refuse_dear=False)  # a dear operation's plan too
        assert isinstance(prepared, PreparedOperation), "refuse_dear=False prepares every operation"
        return prepared.plan.pretty()


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


def _request_errors(code: RouterErrorCode, errors: list[GraphQLError]) -> RequestError:
    formatted = []
    for error in errors:
        entry: dict[str, Any] = {"message": error.message}
        locations = _locations(error)
        if locations:
            entry["locations"] = locations
        entry["extensions"] = {"code": code.value}
        formatted.append(entry)
    return RequestError(code, formatted[0]["message"], errors=formatted, status=GRAPHQL_REQUEST_ERROR_STATUS)


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
