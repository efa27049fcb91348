"""Test support shared by every service: see `plugin` (pytest fixtures) and `issuer`."""
