"""Float results: numpy arrays when numpy can be imported, otherwise FloatArray.

numpy is imported here only, lazily and never required. Setting the
environment variable CONTEXTEMBED_NO_NUMPY=1 (before importing contextembed)
forces the fallback, which is how the tests exercise both paths.
"""
from __future__ import annotations

import array
import ctypes
import os
from typing import Any, Iterable, Iterator, List, Sequence, Tuple, Union

from ._lib import c_float_p

#: The numpy module, or None (not installed, or CONTEXTEMBED_NO_NUMPY=1).
np: Any = None
if os.environ.get("CONTEXTEMBED_NO_NUMPY", "") in ("", "0"):
    try:
        import numpy as _numpy
        np = _numpy
    except ImportError:
        np = None

#: True when results are numpy arrays.
HAVE_NUMPY: bool = np is not None

__all__ = ["FloatArray", "HAVE_NUMPY"]


def _size(shape: Iterable[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


class FloatArray:
    """A small row-major float32 array over ``array('f')``: ``shape``,
    ``len()``, iteration and indexing on the first axis, ``tolist()``.
    ``data`` is the flat ``array('f')`` (a buffer: ``memoryview(a.data)``)."""

    __slots__ = ("data", "shape")

    data: array.array
    shape: Tuple[int, ...]

    def __init__(self, data: array.array, shape: Sequence[int]) -> None:
        if _size(shape) != len(data):
            raise ValueError("shape %r does not hold %d values" % (tuple(shape), len(data)))
        self.data = data
        self.shape = tuple(shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return len(self.data)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __getitem__(self, index: Union[int, slice]) -> Any:
        """Row @index: a float for a 1-d array, else a FloatArray (a copy); a
        slice gives a list of those."""
        if not self.shape:
            raise IndexError("0-d array")
        n = self.shape[0]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(n))]
        index = int(index)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("index %d is out of range for axis 0 of size %d" % (index, n))
        inner = self.shape[1:]
        if not inner:
            return self.data[index]
        row = _size(inner)
        return FloatArray(self.data[index * row:(index + 1) * row], inner)

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]

    def tolist(self) -> List[Any]:
        """Nested lists of floats (a list of floats for a 1-d array)."""
        flat: List[Any] = self.data.tolist()
        for d in reversed(self.shape[1:]):
            flat = [flat[i:i + d] for i in range(0, len(flat), d)]
        return flat

    def __repr__(self) -> str:
        return "FloatArray(shape=%r)" % (self.shape,)


class Buffer:
    """Caller-side float32 storage for one result, passed to the C library."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.store: Any
        if np is not None:
            self.store = np.empty(count, dtype=np.float32)
            self.ptr = self.store.ctypes.data_as(c_float_p)
        else:
            self.store = array.array("f", bytes(4 * count))
            address = self.store.buffer_info()[0] if count else 0
            self.ptr = ctypes.cast(address, c_float_p)

    def result(self, shape: Sequence[int]) -> Any:
        """The filled buffer as an array of @shape."""
        if np is not None:
            return self.store.reshape(shape)
        return FloatArray(self.store, shape)


def stack(items: Sequence[Any], shape: Sequence[int]) -> Any:
    """Arrays of one shape (numpy or FloatArray) stacked on a new first axis."""
    if np is not None:
        return np.stack(items) if items else np.zeros((0,) + tuple(shape), np.float32)
    flat = array.array("f")
    for item in items:
        flat.extend(item.data)
    return FloatArray(flat, (len(items),) + tuple(shape))


def from_floats(values: Iterable[float], shape: Sequence[int]) -> Any:
    """An array of @shape from a flat sequence of floats."""
    if np is not None:
        return np.asarray(values, dtype=np.float32).reshape(shape)
    return FloatArray(array.array("f", values), shape)
