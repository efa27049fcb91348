"""What use cases get: the runtime (its one write path, `commit`) and a repository factory,
so unit tests can hand in fakes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wijkkracht_common.runtime import ServiceRuntime
from wijkkracht_common.storage import Database, Session

from learning_paths.adapters.repositories import Bookmarks, MongoBookmarks
from learning_paths.settings import Settings

BookmarksFactory = Callable[[Database[dict[str, Any]], Session | None], Bookmarks]


@dataclass
class Context:
    runtime: ServiceRuntime
    settings: Settings
    bookmarks: BookmarksFactory = MongoBookmarks
