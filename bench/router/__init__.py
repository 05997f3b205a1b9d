"""The router's benchmark, `mybroker bench router`, and what it runs.

`subgraphs` holds four small, fast federation subgraphs in the shape of The Guild's
federation gateway benchmark (accounts, inventory, products, reviews), served by `server`
as separate processes; `compare` drives our router, Hive Gateway and Apollo Gateway on the
same supergraph with wrk (`load`); `startup_timing` times the router's start. The
subscriptions benchmark beside it (bench/subscriptions.py) reuses `compare`'s gateways."""
