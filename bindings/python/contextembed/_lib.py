"""Finding and loading libcontextembed, and the ctypes signature of every
exported function.

Nothing here mirrors a C struct: handles are opaque pointers (c_void_p),
options are enum-keyed setters, and arrays are plain scalars. The search
order for the shared library is, first hit wins:

1. the file named by the environment variable CONTEXTEMBED_LIBRARY (only it);
   CONTEXTEMBED_LIBRARY=system skips 2 and 3: the installed system library only;
2. a libcontextembed shared library next to this package (what pip installs);
3. a meson build tree of the checkout the package sits in (``build*/``);
4. the system's library path (ctypes.util.find_library, then the SONAME).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from .errors import LibraryNotFoundError, UnsupportedError, error_for_status

#: The ce_abi_version() this binding was written for. Libraries of the same
#: major version with a higher ABI version only append functions (docs/abi.md),
#: so they are accepted; older ones lack functions and are refused.
ABI_VERSION: int = 1
#: The major version whose ABI this binding speaks.
MAJOR_VERSION: int = 0

c_size_p = ctypes.POINTER(ctypes.c_size_t)
c_float_p = ctypes.POINTER(ctypes.c_float)
c_int32_p = ctypes.POINTER(ctypes.c_int32)
c_int64_p = ctypes.POINTER(ctypes.c_int64)
c_void_pp = ctypes.POINTER(ctypes.c_void_p)
c_char_pp = ctypes.POINTER(ctypes.c_char_p)

# ce_log_fn: void (*)(void *user_data, ce_log_level level, const char *message)
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)

_st = ctypes.c_int  # ce_status and the other enums are C ints
_sz = ctypes.c_size_t
_vp = ctypes.c_void_p
_cp = ctypes.c_char_p

# name: (restype, [argtypes]); every function of include/contextembed/*.h.
SIGNATURES: Dict[str, Tuple[Any, List[Any]]] = {
    # common.h
    "ce_status_str": (_cp, [_st]),
    "ce_last_error": (_cp, []),
    "ce_set_log_callback": (None, [LOG_FN, _vp, ctypes.c_int]),
    "ce_version": (_cp, []),
    "ce_abi_version": (ctypes.c_uint32, []),
    "ce_precision_name": (_cp, [ctypes.c_int]),
    "ce_cpu_features": (ctypes.c_uint32, []),
    # options.h
    "ce_options_create": (_st, [c_void_pp]),
    "ce_options_free": (None, [_vp]),
    "ce_options_set_int": (_st, [_vp, ctypes.c_int, ctypes.c_int64]),
    "ce_options_set_string": (_st, [_vp, ctypes.c_int, _cp]),
    "ce_options_get_int": (_st, [_vp, ctypes.c_int, c_int64_p]),
    "ce_options_get_string": (_st, [_vp, ctypes.c_int, c_char_pp]),
    "ce_option_bounds": (_st, [ctypes.c_int, c_int64_p, c_int64_p]),
    # tokenizer.h
    "ce_tokenizer_open": (_st, [_cp, c_void_pp]),
    "ce_tokenizer_free": (None, [_vp]),
    "ce_tokenizer_kind": (_cp, [_vp]),
    "ce_tokenizer_vocab_size": (_sz, [_vp]),
    "ce_tokenizer_encode": (_st, [_vp, _cp, _sz, _cp, _sz, ctypes.c_uint32, _sz, c_void_pp]),
    "ce_encoding_free": (None, [_vp]),
    "ce_encoding_length": (_sz, [_vp]),
    "ce_encoding_ids": (c_int32_p, [_vp]),
    "ce_encoding_type_ids": (c_int32_p, [_vp]),
    "ce_encoding_sequence_ids": (c_int32_p, [_vp]),
    "ce_encoding_word_ids": (c_int32_p, [_vp]),
    "ce_encoding_offsets": (c_size_p, [_vp]),
    "ce_tokenizer_id_to_token": (_st, [_vp, ctypes.c_int32, c_void_pp, c_size_p]),
    "ce_tokenizer_token_to_id": (_st, [_vp, _cp, _sz, c_int32_p]),
    "ce_tokenizer_special_id": (_st, [_vp, ctypes.c_int, c_int32_p]),
    "ce_tokenizer_decode": (_st, [_vp, c_int32_p, _sz, ctypes.c_uint32, _vp, _sz, c_size_p]),
    "ce_decoder_create": (_st, [_vp, ctypes.c_uint32, c_void_pp]),
    "ce_decoder_free": (None, [_vp]),
    "ce_decoder_push": (_st, [_vp, ctypes.c_int32, _vp, _sz, c_size_p]),
    "ce_decoder_flush": (_st, [_vp, _vp, _sz, c_size_p]),
    # model.h
    "ce_model_open": (_st, [_cp, _vp, c_void_pp]),
    "ce_model_open_random": (_st, [_cp, _sz, ctypes.c_uint64, _vp, c_void_pp]),
    "ce_model_free": (None, [_vp]),
    "ce_model_get_info": (_st, [_vp, ctypes.c_int, c_int64_p]),
    "ce_model_architecture": (_cp, [_vp]),
    "ce_architecture_name": (_cp, [_sz]),
    "ce_tokenizer_encode_batch": (_st, [_vp, _sz, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(_sz),
                                        ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(_sz),
                                        ctypes.c_uint32, _sz, c_void_pp]),
    "ce_encoding_num_texts": (_sz, [_vp]),
    "ce_encoding_text_starts": (ctypes.POINTER(_sz), [_vp]),
    "ce_session_run_texts": (_st, [_vp, _sz, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(_sz),
                                   ctypes.c_uint32, _sz]),
    "ce_session_output_all": (_st, [_vp, _vp, c_float_p, _sz, ctypes.POINTER(_sz)]),
    "ce_model_head_size": (_st, [_vp, ctypes.c_int, ctypes.POINTER(_sz)]),
    "ce_model_head_label": (_cp, [_vp, ctypes.c_int, _sz]),
    "ce_session_head_shape": (_st, [_vp, _sz, ctypes.c_int, ctypes.POINTER(_sz), ctypes.POINTER(_sz)]),
    "ce_session_head_output": (_st, [_vp, _sz, ctypes.c_int, c_float_p, _sz, ctypes.POINTER(_sz)]),
    "ce_model_tokenizer": (_vp, [_vp]),
    # session.h
    "ce_session_create": (_st, [_vp, _vp, c_void_pp]),
    "ce_session_free": (None, [_vp]),
    "ce_session_backend": (_cp, [_vp]),
    "ce_session_threads": (ctypes.c_int, [_vp]),
    "ce_session_run": (_st, [_vp, _sz, c_size_p, c_int32_p, c_int32_p]),
    "ce_session_num_sequences": (_sz, [_vp]),
    "ce_session_sequence_length": (_st, [_vp, _sz, c_size_p]),
    "ce_select_create": (_st, [c_void_pp]),
    "ce_select_free": (None, [_vp]),
    "ce_select_layers": (_st, [_vp, c_int32_p, _sz]),
    "ce_select_mix": (_st, [_vp, c_float_p, _sz, ctypes.c_float]),
    "ce_select_pool": (_st, [_vp, ctypes.c_int]),
    "ce_select_normalize": (_st, [_vp, ctypes.c_int]),
    "ce_select_mix_layer_norm": (_st, [_vp, ctypes.c_int]),
    "ce_session_output_shape": (_st, [_vp, _sz, _vp, c_size_p, c_size_p]),
    "ce_session_output": (_st, [_vp, _sz, _vp, c_float_p, _sz, c_size_p]),
    "ce_session_append": (_st, [_vp, c_int32_p, _sz, ctypes.c_uint32]),
    "ce_session_context_length": (_sz, [_vp]),
    "ce_session_logits_rows": (_sz, [_vp]),
    "ce_session_logits": (_st, [_vp, c_float_p, _sz, c_size_p]),
    "ce_session_rewind": (_st, [_vp, _sz]),
    "ce_session_copy_state": (_st, [_vp, _vp]),
    "ce_session_run_words": (_st, [_vp, _sz, c_size_p, _cp, _sz, c_size_p]),
    "ce_session_reset_state": (_st, [_vp]),
    "ce_sampler_create": (_st, [ctypes.c_uint64, c_void_pp]),
    "ce_sampler_free": (None, [_vp]),
    "ce_sampler_configure": (_st, [_vp, ctypes.c_float, ctypes.c_int32, ctypes.c_float]),
    "ce_sampler_sample": (_st, [_vp, c_float_p, _sz, c_int32_p]),
    # backend.h (registering a backend needs its vtable struct: not bound)
    "ce_backend_count": (_sz, []),
    "ce_backend_name": (_cp, [_sz]),
}

# enum values used by the binding (include/contextembed/*.h)
OPT_BACKEND, OPT_THREADS, OPT_TRUNCATE, OPT_CARRY_STATE, OPT_SENTENCE_MODULES = 0, 1, 2, 3, 4
OPT_PRECISION = 7
OPT_LONG_INPUT, OPT_WINDOW_STRIDE = 5, 6
LONG_WINDOW = 2
# ce_precision values (CE_INFO_PRECISION), and ce_cpu_feature bits by the names cpu_features reports
PRECISIONS = {0: "f32", 1: "bf16", 2: "int8"}
CPU_FEATURES = [("avx2", 1), ("avx512", 2), ("avx512_bf16", 4), ("amx_bf16", 8), ("vnni", 16),
                ("amx_int8", 32)]
ENCODE_ADD_SPECIAL, ENCODE_SPECIAL_AS_TEXT = 1, 2
DECODE_SKIP_SPECIAL = 1
APPEND_ALL_LOGITS = 1
POOLS = {None: 0, "none": 0, "cls": 1, "mean": 2, "max": 3, "mean_sqrt_len": 4,
         "weighted_mean": 5, "last": 6, "default": 7}
POOL_DEFAULT = 7
# ce_capability bits, by the names Model.capabilities reports
CAPABILITIES = [("token_ids", 1), ("words", 2), ("decoder", 4), ("bidirectional", 8),
                ("token_types", 16), ("carry_state", 32), ("sentence_pooling", 64)]
# ce_head values, by the names Model.heads reports
HEADS = {"masked_lm": 0, "next_sentence": 1, "sequence_classification": 2,
         "token_classification": 3, "question_answering": 4}
# ce_model_info keys read on demand (not in INFO_KEYS, which every open reads)
INFO_HEADS, INFO_MULTI_LABEL, INFO_PRECISION = 14, 15, 16
SPECIALS = {"unk": 0, "cls": 1, "sep": 2, "pad": 3, "mask": 4, "bos": 5, "eos": 6}
INFO_KEYS = [  # (key in Model.info, ce_model_info)
    ("num_layers", 0), ("hidden_size", 1), ("num_heads", 2), ("vocab_size", 3),
    ("max_positions", 4), ("num_output_layers", 5), ("intermediate_size", 6),
    ("type_vocab_size", 7), ("parameters", 8), ("weight_bytes", 9), ("capabilities", 10),
    ("pooling", 11), ("normalize", 12), ("max_seq_length", 13),
]


def _shared_names() -> List[str]:
    if sys.platform == "darwin":
        return ["libcontextembed*.dylib"]
    if sys.platform.startswith("win"):
        return ["contextembed*.dll", "libcontextembed*.dll"]
    return ["libcontextembed.so*"]


def _files(directory: str) -> List[str]:
    found = []
    for pattern in _shared_names():
        found += [p for p in glob.glob(os.path.join(directory, pattern)) if os.path.isfile(p)]
    return sorted(found, key=len)  # the unversioned name (or the shortest) first


def _sanitized(path: str) -> bool:
    """True for a library built with AddressSanitizer, which aborts the process
    when loaded into an interpreter that did not preload the ASan runtime."""
    if "libasan" in os.environ.get("LD_PRELOAD", ""):
        return False
    try:
        with open(path, "rb") as f:
            return b"libasan.so" in f.read()
    except OSError:
        return False


#: CONTEXTEMBED_LIBRARY=system: the library installed on the system, not the one in the package.
SYSTEM = "system"


def _system() -> List[str]:
    found = ctypes.util.find_library("contextembed")
    return ([found] if found else []) + ["libcontextembed.so.%d" % MAJOR_VERSION]


def candidates() -> List[str]:
    """Paths to try, in order (see the module docstring)."""
    env = os.environ.get("CONTEXTEMBED_LIBRARY")
    if env == SYSTEM:
        return _system()
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    paths = _files(here)
    # bindings/python/contextembed -> the checkout's root, holding build*/
    root = os.path.normpath(os.path.join(here, "..", "..", ".."))
    built: List[Any] = [_files(d)[:1] for d in glob.glob(os.path.join(root, "build*")) if os.path.isdir(d)]
    built = [p[0] for p in built if p and not _sanitized(p[0])]
    paths += sorted(built, key=os.path.getmtime, reverse=True)  # the newest build first
    return paths + _system()


def check_abi(abi: int, version: str, path: str = "libcontextembed") -> None:
    """Raise LibraryNotFoundError unless a library reporting @abi and
    @version can serve this binding."""
    try:
        major = int(version.split(".")[0])
    except ValueError:
        major = -1
    if major != MAJOR_VERSION or abi < ABI_VERSION:
        raise LibraryNotFoundError(
            "%s is version %s with ABI version %d; this binding was written for major "
            "version %d, ABI version %d or later: install a matching libcontextembed or "
            "point CONTEXTEMBED_LIBRARY at one" % (path, version, abi, MAJOR_VERSION, ABI_VERSION))


def _missing(name: str, path: str) -> Callable[..., Any]:
    def stub(*args: Any) -> Any:
        raise UnsupportedError("%s: the library at %s does not define %s (built from an older "
                               "or unfinished source tree)" % (name, path, name))
    stub.__name__ = name
    return stub


class Library:
    """The loaded library: one attribute per C function, signatures declared."""

    if TYPE_CHECKING:
        # The C functions are set as attributes when the library loads.
        def __getattr__(self, name: str) -> Any: ...

    def __init__(self, path: str) -> None:
        try:
            self._dll = ctypes.CDLL(path)
        except OSError as e:
            raise LibraryNotFoundError("cannot load %s: %s" % (path, e)) from None
        self.path: str = getattr(self._dll, "_name", path)
        self.missing: List[str] = []
        for name, (restype, argtypes) in SIGNATURES.items():
            try:
                fn = getattr(self._dll, name)
            except AttributeError:
                self.missing.append(name)
                setattr(self, name, _missing(name, self.path))
                continue
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)
        for name in ("ce_abi_version", "ce_version", "ce_last_error", "ce_status_str"):
            if name in self.missing:
                raise LibraryNotFoundError("%s is not libcontextembed (no %s)" % (self.path, name))
        self.version: str = self.ce_version().decode()
        self.abi_version: int = int(self.ce_abi_version())
        check_abi(self.abi_version, self.version, self.path)

    def check(self, status: int) -> None:
        """Raise the exception for a failed call; the message is read on the
        calling thread, right after the call, from ce_last_error()."""
        if status != 0:
            message = self.ce_last_error().decode("utf-8", "replace")
            if not message:
                message = self.ce_status_str(status).decode()
            raise error_for_status(status, message)


def load(path: Optional[str] = None) -> Library:
    """Load the library from @path, or search the places listed above."""
    if path:
        return Library(path)
    tried = []
    env = os.environ.get("CONTEXTEMBED_LIBRARY")
    for candidate in candidates():
        try:
            return Library(candidate)
        except LibraryNotFoundError as e:
            if (env and env != SYSTEM) or "ABI" in str(e):
                raise
            tried.append("%s (%s)" % (candidate, e))
    if env == SYSTEM:
        raise LibraryNotFoundError(
            "CONTEXTEMBED_LIBRARY=system but no libcontextembed is installed on the system's "
            "library path. Tried: " + "; ".join(tried))
    raise LibraryNotFoundError(
        "libcontextembed not found; pip install ./bindings/python (which builds it into the "
        "package), build it (meson setup build && ninja -C build), install it, or set "
        "CONTEXTEMBED_LIBRARY to its path. Tried: " + "; ".join(tried))


lib: Library = load()
