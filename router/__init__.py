"""The federation router: an Apollo Federation v2 router in Python.

A request moves through named stages, one module each:
  http.py        HTTP edge (Starlette): /graphql POST and GET, GraphiQL, /health, JWT check
  pipeline.py    operation stage: parse, validate, limits (limits.py), plan; LRU of prepared
                 operations (operation_cache.py); then execution and response shaping
  planner.py     supergraph + operation -> QueryPlan (plan.py: Sequence/Parallel/Fetch/Flatten)
  executor.py    runs a plan through a SubgraphClient (subgraph_client.py); the only I/O
  response.py    cuts the merged data to the client's operation, null propagation
Built once at start-up:
  compose.py     subgraph SDLs -> supergraph SDL (subgraph_schema.py reads one subgraph,
                 merged_schema.py the merged model, supergraph_printer.py prints it in
                 Apollo's format); discovery.py fetches SDLs
  supergraph.py  supergraph SDL -> the model the planner queries, and the API schema
Shared: operation.py (the normalised operation tree), links.py (@link namespaces), errors.py."""
