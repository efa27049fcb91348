"""Wijkkracht reference portal."""
