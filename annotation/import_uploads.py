"""Receiving an import upload without reading more than the import limit allows.

Before the body is read, a request whose Content-Length is over the limit is refused. The
file itself then streams to a temporary file on disk (never into memory), and reading stops
as soon as the file passes the limit. Both the upload page and the API install this before
they touch ``request.POST`` / ``request.data``; the page is therefore ``csrf_exempt`` outside
and ``csrf_protect`` inside, since the CSRF check reads the body (Django's documented way to
change upload handlers in a view).
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import HttpRequest

from .services.imports import too_large_message

# Room for the form's other fields and the multipart headers around the file.
MULTIPART_SLACK = 64 * 1024


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Streams the file to disk and stops at ``settings.IMPORT_MAX_BYTES``."""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > settings.IMPORT_MAX_BYTES:
            self.request.import_too_large = too_large_message(None, self.file_name or "the file")
            # The rest of the body is drained (it is at most MULTIPART_SLACK, see below).
            raise StopUpload(connection_reset=False)
        return super().receive_data_chunk(raw_data, start)


def upload_prepare(request: HttpRequest) -> str | None:
    """Why the upload is refused before reading it, or None after installing the handler
    that streams it to disk within the limit. After parsing, ``upload_refused`` tells
    whether the handler stopped it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.IMPORT_MAX_BYTES + MULTIPART_SLACK:
        return too_large_message(length, "The upload")
    request.upload_handlers = [LimitedTemporaryFileUploadHandler(request)]
    return None


def upload_refused(request: HttpRequest) -> str | None:
    return getattr(request, "import_too_large", None)
