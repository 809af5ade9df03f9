"""contextembed: Python binding of libcontextembed (contextual embeddings and
next-token logits on the CPU), through ctypes.

    import contextembed as ce
    with ce.Model("bert-base-uncased") as model:
        vectors = model.embed("The tide went out.")          # [tokens, hidden]
        sentence = model.embed("A sentence.", pool="mean", normalize=True)

Models and tokenizers may be shared between threads; sessions may not.
Results are numpy arrays when numpy is installed, else contextembed.FloatArray.
"""
import logging

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
library_version = lib.version
#: Path of the loaded shared library.
library_path = lib.path


def backends():
    """Names of the registered compute backends ("ref", "blis", ...)."""
    return [lib.ce_backend_name(i).decode() for i in range(lib.ce_backend_count())]


def architectures():
    """Model families this library opens (config.json model_type values:
    "bert", "roberta", "distilbert", "gpt2", "elmo", ...)."""
    names = []
    while True:
        name = lib.ce_architecture_name(len(names))
        if not name:
            return names
        names.append(name.decode())


_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR}
_log_callback = None  # the ctypes callback must stay alive while installed


def enable_logging(level=logging.WARNING):
    """Forward the library's log messages at @level and above to the
    "contextembed" logger; enable_logging(None) stops forwarding. The library
    itself never prints."""
    global _log_callback
    if level is None:
        lib.ce_set_log_callback(LOG_FN(), None, 0)
        _log_callback = None
        return
    logger = logging.getLogger("contextembed")

    def forward(_user, lvl, message):
        logger.log(_LEVELS.get(lvl, logging.ERROR), message.decode("utf-8", "replace"))

    callback = LOG_FN(forward)
    min_level = max([k for k, v in _LEVELS.items() if v <= level] or [0])
    lib.ce_set_log_callback(callback, None, min_level)
    _log_callback = callback
