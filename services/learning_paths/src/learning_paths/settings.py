"""Settings (`WK_*` environment variables), built in the composition root, never at import."""

from __future__ import annotations

from wijkkracht_common.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    service_name: str = "learning_paths"
    http_port: int = 8003
