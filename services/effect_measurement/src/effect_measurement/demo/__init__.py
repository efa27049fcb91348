"""Deterministic synthetic data for the demo tenant and for benchmarks."""
