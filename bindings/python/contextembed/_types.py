"""Type aliases of the public API, for annotations (the package ships py.typed).

Only typing and the package's own FloatArray are imported: numpy (and
os.PathLike, which takes a parameter only from Python 3.9) are named in strings,
so nothing here needs numpy at run time and it works on Python 3.8.
"""
import os
from typing import TYPE_CHECKING, Any, List, Sequence, Tuple, Union

from .arrays import FloatArray

if TYPE_CHECKING:
    import numpy

__all__ = ["Text", "TextInput", "PathArg", "Array", "Rows", "Layers", "Mix"]

#: A text: a str, or its UTF-8 bytes.
Text = Union[str, bytes]
#: What embed() takes per text: a text, or a (text, pair) tuple.
TextInput = Union[str, bytes, Tuple[Text, Text]]
#: A file or directory path.
PathArg = Union[str, bytes, "os.PathLike[str]"]
#: A float32 result: a numpy array when numpy is installed, else FloatArray.
Array = Union["numpy.ndarray", FloatArray]
#: Model.embed_batch's result: a numpy array [N, D] ([N, L, D] for several
#: layers), or without numpy a list of N lists of floats (of L lists).
Rows = Union["numpy.ndarray", List[Any]]
#: Which layers to read: None (the last), an int (0 = embedding output, -1 =
#: the last), a sequence of ints, or "all".
Layers = Union[None, int, Sequence[int], str]
#: ELMo's scalar mix: weights, or (weights, gamma).
Mix = Union[Sequence[float], Tuple[Sequence[float], float]]
