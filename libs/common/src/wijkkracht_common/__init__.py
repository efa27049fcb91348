"""Shared machinery of the Wijkkracht services (architecture §3)."""
