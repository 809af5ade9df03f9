"""Exceptions: one class per ce_status code of libcontextembed.

Every failure of a library call raises a subclass of ContextEmbedError that
carries the status code (``.status``) and the library's thread-local message
(``.message``, from ce_last_error()). Where a built-in exception means the same
thing, the class also derives from it, so ``except ValueError`` keeps working.
"""
from __future__ import annotations

from typing import Dict, Optional, Type

__all__ = [
    "ContextEmbedError", "InvalidArgumentError", "OutOfMemoryError", "FileIOError",
    "FormatError", "UnsupportedError", "InvalidUTF8Error", "TooLongError",
    "BufferTooSmallError", "OutOfRangeError", "NotFoundError", "BackendError",
    "StateError", "LibraryNotFoundError", "error_for_status",
]


class ContextEmbedError(Exception):
    """A libcontextembed call failed. ``status`` is the ce_status code,
    ``message`` the library's detailed message."""

    status: Optional[int] = None

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        if status is not None:
            self.status = status
        self.message = message
        super().__init__(message)


class InvalidArgumentError(ContextEmbedError, ValueError):
    """CE_ERR_INVALID_ARGUMENT: a missing value, a bad enum or option value."""
    status = 1


class OutOfMemoryError(ContextEmbedError, MemoryError):
    """CE_ERR_OUT_OF_MEMORY: an allocation failed."""
    status = 2


class FileIOError(ContextEmbedError, OSError):
    """CE_ERR_IO: a file could not be opened, mapped or read."""
    status = 3


class FormatError(ContextEmbedError, ValueError):
    """CE_ERR_FORMAT: a file is corrupt, truncated or inconsistent."""
    status = 4


class UnsupportedError(ContextEmbedError):
    """CE_ERR_UNSUPPORTED: valid input this library does not handle
    (pytorch_model.bin, an unknown model_type, decoding with an encoder...)."""
    status = 5


class InvalidUTF8Error(ContextEmbedError, ValueError):
    """CE_ERR_INVALID_UTF8: text is not valid UTF-8."""
    status = 6


class TooLongError(ContextEmbedError, ValueError):
    """CE_ERR_TOO_LONG: a sequence exceeds the model's maximum length."""
    status = 7


class BufferTooSmallError(ContextEmbedError):
    """CE_ERR_BUFFER_TOO_SMALL: the binding handles it; seeing it is a bug."""
    status = 8


class OutOfRangeError(ContextEmbedError, IndexError):
    """CE_ERR_OUT_OF_RANGE: a token id, layer or sequence index is out of range."""
    status = 9


class NotFoundError(ContextEmbedError, LookupError):
    """CE_ERR_NOT_FOUND: a named thing (backend, tensor, file, token) does not exist."""
    status = 10


class BackendError(ContextEmbedError):
    """CE_ERR_BACKEND: a compute backend failed or was refused."""
    status = 11


class StateError(ContextEmbedError):
    """CE_ERR_STATE: the call is not valid in the object's current state
    (no results yet, no logits, a closed model or session)."""
    status = 12


class LibraryNotFoundError(ImportError):
    """The shared library could not be found or loaded, or its ABI does not
    match what this binding was written for."""


_BY_STATUS: Dict[Optional[int], Type[ContextEmbedError]] = {cls.status: cls for cls in (
    InvalidArgumentError, OutOfMemoryError, FileIOError, FormatError, UnsupportedError,
    InvalidUTF8Error, TooLongError, BufferTooSmallError, OutOfRangeError, NotFoundError,
    BackendError, StateError)}


def error_for_status(status: int, message: str) -> ContextEmbedError:
    """The exception for a ce_status code (ContextEmbedError for unknown codes)."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        return ContextEmbedError(message, status)
    return cls(message)
