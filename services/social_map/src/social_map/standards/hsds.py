"""HSDS 3.0: the official files, vendored unmodified in `hsds-3.0/` (see its README).

The service reads them as package data, never from outside its package: the tabular
package's descriptor goes into every CSV export; the schemas and examples serve the tests.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

#: The descriptor's name inside a tabular package.
DESCRIPTOR = "datapackage.json"


def root() -> Traversable:
    return files(__package__) / "hsds-3.0"


@cache
def datapackage_descriptor() -> bytes:
    """The official `datapackage.json`: the spec's file names, columns, types and keys."""
    return (root() / DESCRIPTOR).read_bytes()
