"""Deterministic demo data for tenant `demo` (dev seeding, tests and benchmarks)."""
