"""Contract tests: one module per port, run against every implementation of it."""
