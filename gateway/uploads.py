"""Files uploaded to the console and the API: bounded in size, read as UTF-8 text."""

from __future__ import annotations

from fastapi import status
from starlette.datastructures import UploadFile

MAX_UPLOAD = 5 * 1024 * 1024


class UploadRefused(ValueError):
    """An uploaded file that cannot be read as text: missing, too large, or not UTF-8."""

    def __init__(self, message: str, status_code: int = status.HTTP_400_BAD_REQUEST) -> None:
        super().__init__(message)
        self.status_code = status_code


def decode_upload(data: bytes) -> str:
    """Read uploaded bytes as UTF-8 text (a byte-order mark is dropped), or UploadRefused."""
    if len(data) > MAX_UPLOAD:
        raise UploadRefused(
            f"the file is larger than {MAX_UPLOAD // (1024 * 1024)} MB",
            status.HTTP_413_CONTENT_TOO_LARGE,
        )
    if b"\x00" in data:
        raise UploadRefused("the file is not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadRefused("the file is not UTF-8 text") from None


async def read_upload(upload: object) -> str:
    """The text of a form's file field, or UploadRefused; reads at most one byte too many."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise UploadRefused("choose a file to import")
    return decode_upload(await upload.read(MAX_UPLOAD + 1))
