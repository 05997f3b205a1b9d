"""Benchmarks that drive the whole platform from outside, as its users do (`mybroker bench
orders`). They are tools, not product code: no service imports them. The gateways'
Node packages for `mybroker bench router` live beside them in bench/gateways/."""
