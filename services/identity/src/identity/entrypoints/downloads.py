"""The export archive as an HTTP download."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from identity.domain.exports import ExportJob

ZIP_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/zip": {}}, "description": "the export archive"},
    409: {"description": "the archive is still being made"},
    410: {"description": "the archive expired: request a new export"},
}


def zip_download(content: bytes, job: ExportJob) -> Response:
    day = (job.ready_at or job.requested_at).date().isoformat()
    return Response(
        content,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="wijkkracht-gegevens-{day}.zip"',
            "Cache-Control": "no-store",
        },
    )
