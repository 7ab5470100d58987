"""What can go wrong with a dataset, as types with messages that say what to do.

Every error derives from ``DatasetError`` and carries ``status``, the HTTP
status the model service answers with, so the service maps errors in one place.
"""

from __future__ import annotations


class DatasetError(Exception):
    """Base of every dataset error; ``str(error)`` is a message for the user."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidName(DatasetError):
    """A dataset name, file name or path inside an archive is not acceptable."""


class InvalidInput(DatasetError):
    """An argument other than a name is wrong (visibility, group, description, size)."""


class EmptyFile(DatasetError):
    """A 0-byte file was given; datasets hold data."""


class MediaTypeMismatch(DatasetError):
    """The content does not match the file's extension (a PNG named ``.csv``)."""

    status = 415


class UnsafeArchive(DatasetError):
    """An archive or folder was refused: traversal, links, devices, bombs, limits."""


class QuotaExceeded(DatasetError):
    """Storing this would take the owner over their dataset quota."""

    status = 413


class NotFound(DatasetError):
    """No such dataset, version, file or upload (or the caller may not see it)."""

    status = 404


class Forbidden(DatasetError):
    """The caller may see the dataset but not change it."""

    status = 403


class Ambiguous(DatasetError):
    """A bare name matches datasets of several owners; say ``owner/name``."""

    status = 409


class DatasetInUse(DatasetError):
    """A run holds a version of the dataset; it cannot be deleted now."""

    status = 409


class UploadOffsetMismatch(DatasetError):
    """A chunk was sent at the wrong offset; ``expected`` is where to resume."""

    status = 409

    def __init__(self, message: str, expected: int) -> None:
        super().__init__(message)
        self.expected = expected


class UploadBusy(DatasetError):
    """Another request is writing to the same upload right now."""

    status = 409


class UploadIncomplete(DatasetError):
    """``complete_upload`` was called before all announced bytes arrived."""

    status = 409


class UploadTooLarge(DatasetError):
    """More bytes arrived than the size announced at ``start_upload``."""

    status = 413
