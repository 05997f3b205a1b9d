"""The router's benchmarks: `mybroker bench router` and `mybroker bench subscriptions`.

`subgraphs` holds four small, fast federation subgraphs in the shape of The Guild's
federation gateway benchmark (accounts, inventory, products, reviews), served by `server`
as separate processes; `router_bench` drives our router, Hive Gateway and Apollo Gateway
on the same supergraph with wrk; `subscriptions_bench` drives WebSocket subscribers."""
