"""File downloads, written once: every CSV the service sends (preview, campaigns) has the same
headers and the one dialect of `models.contract.spreadsheet_csv`."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.responses import StreamingResponse

from models.contract.spreadsheet_csv import MEDIA_TYPE


class CsvResponse(StreamingResponse):
    """A streamed CSV; as a route's `response_class` it documents `text/csv` in the OpenAPI schema."""

    media_type = MEDIA_TYPE


def csv_download(chunks: Iterator[str], filename: str) -> StreamingResponse:
    """An attachment named `filename`, never cached (it holds customer ids)."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    return CsvResponse(chunks, headers=headers)
