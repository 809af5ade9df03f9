"""contextembed: Python binding of libcontextembed (contextual embeddings and
next-token logits on the CPU), through ctypes.

    import contextembed as ce
    with ce.Model("bert-base-uncased") as model:
        vectors = model.embed("The tide went out.")          # [tokens, hidden]
        sentence = model.embed("A sentence.", pool="mean", normalize=True)

Models and tokenizers may be shared between threads; sessions may not.
Results are numpy arrays when numpy is installed, else contextembed.FloatArray.
The package is typed (PEP 561): its public functions and classes carry type hints.
"""
from __future__ import annotations

import logging
from typing import Any, List, Optional

from ._lib import ABI_VERSION, LOG_FN, lib
from .arrays import HAVE_NUMPY, FloatArray
from .errors import (BackendError, BufferTooSmallError, ContextEmbedError, FileIOError,
                     FormatError, InvalidArgumentError, InvalidUTF8Error, LibraryNotFoundError,
                     NotFoundError, OutOfMemoryError, OutOfRangeError, StateError, TooLongError,
                     UnsupportedError)
from .generation import Sampler
from .model import Model, cpu_features
from .session import Session
from .tokenizer import Encoding, StreamDecoder, Tokenizer

__all__ = [
    "Model", "Session", "Tokenizer", "Encoding", "StreamDecoder", "Sampler", "FloatArray",
    "HAVE_NUMPY", "ABI_VERSION", "library_version", "library_path", "backends", "architectures",
    "cpu_features",
    "enable_logging", "ContextEmbedError", "InvalidArgumentError", "OutOfMemoryError",
    "FileIOError", "FormatError", "UnsupportedError", "InvalidUTF8Error", "TooLongError",
    "BufferTooSmallError", "OutOfRangeError", "NotFoundError", "BackendError", "StateError",
    "LibraryNotFoundError",
]

__version__ = "0.1.0"

#: Version string of the loaded library ("MAJOR.MINOR.PATCH").
library_version: str = lib.version
#: Path of the loaded shared library.
library_path: str = lib.path


def backends() -> List[str]:
    """Names of the registered compute backends ("ref", "blis", ...)."""
    return [lib.ce_backend_name(i).decode() for i in range(lib.ce_backend_count())]


def architectures() -> List[str]:
    """Model families this library opens (config.json model_type values:
    "bert", "roberta", "distilbert", "gpt2", "elmo", ...)."""
    names: List[str] = []
    while True:
        name = lib.ce_architecture_name(len(names))
        if not name:
            return names
        names.append(name.decode())


_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR}
_log_callback: Any = None  # the ctypes callback installed now
# Every callback ever installed stays alive for the life of the process: a library call
# running on another thread when the callback is replaced or removed may still call the
# previous one (include/contextembed/common.h, ce_set_log_callback).
_log_callbacks_kept: List[Any] = []


def enable_logging(level: Optional[int] = logging.WARNING) -> None:
    """Forward the library's log messages at @level and above to the
    "contextembed" logger; enable_logging(None) stops forwarding. The library
    itself never prints. The library has one log callback per process: the
    last call wins, for every thread. Thread-safe."""
    global _log_callback
    if level is None:
        lib.ce_set_log_callback(LOG_FN(), None, 0)  # type: ignore[call-overload]
        _log_callback = None
        return
    logger = logging.getLogger("contextembed")

    def forward(_user: Any, lvl: int, message: bytes) -> None:
        logger.log(_LEVELS.get(lvl, logging.ERROR), message.decode("utf-8", "replace"))

    callback = LOG_FN(forward)
    _log_callbacks_kept.append(callback)
    min_level = max([k for k, v in _LEVELS.items() if v <= level] or [0])
    lib.ce_set_log_callback(callback, None, min_level)
    _log_callback = callback
