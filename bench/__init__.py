"""Benchmarks, each a `mybroker bench NAME` command or a `python -m bench...` tool. They are
tools, not product code: no product package imports them, and they may import any of it.

- `orders`, `abuse`: the whole platform driven from outside, as its users do;
- `router/` (`mybroker bench router`, and the router's start time), `subscriptions` with
  its platform process `subscriptions_host`, and `processes`, what both run (the
  gateways' Node packages, processes, CPUs); the gateways' Node packages live in gateways/;
- `matching` (the pure order book), `b3_rabbitmq` (b3-sim end to end on RabbitMQ),
  `live_fanout` (the embedded live fan-out)."""
