"""My Broker B3: the shared core every service imports (settings, event contracts, the bus,
stores, JWT verification, GraphQL helpers) and the `mybroker` command line.

Services import this package, never each other."""
