"""The composition root: the one package that imports every part of the platform.

`mybroker/` is the shared kernel (settings, events, money, errors, auth, db, bus, cache)
and imports nothing of ours; the subgraphs, b3-sim, ingest and the router each import the
kernel at most. Putting them together is this package's job alone (docs/design.md, "Who
may import whom"):

- `launch.cli`: the `mybroker` command line;
- `launch.registry`: every service by name, its factory and its migrations;
- `launch.platform`: the embedded platform (`mybroker up`) and one service alone (`serve`);
- `launch.migrations`: `mybroker migrate`'s migrations of every service, new revisions;
- `launch.router_app`, `launch.router_process`, `launch.production`: the router assembled
  for the platform, in a process of its own, and its production settings.

Not named `platform`, which would shadow the standard library's module."""
