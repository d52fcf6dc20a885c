"""Shared test kits: trees, packages, servers and stacks the suites build on (no tests here)."""
