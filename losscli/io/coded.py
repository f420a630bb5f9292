"""A column of labels as integer codes into its distinct values (dictionary encoding).

Readers give id and group columns in this form: a batch of ten million rows with twenty
segment names is then ten million small integers plus twenty strings, so grouping is a
``np.bincount`` over the codes and never touches a Python string per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class CodedColumn:
    """One value per row: row i holds ``values[codes[i]]`` (a missing cell is a value too:
    None, or NaN in a float column).

    codes: int64 [rows]; values [k]. Values are numbered in order of first appearance, so
    walking the codes in increasing order meets every value not seen in earlier rows in the
    order the rows meet them (this survives slicing a column into consecutive pieces and
    concatenating them, which may repeat a value under a second code). Behaves as a read-only
    array for ``len``, slicing, boolean or integer indexing, ``np.asarray`` and ``tolist``.
    """

    codes: np.ndarray
    values: np.ndarray

    @classmethod
    def encode(cls, column) -> CodedColumn:
        """The coding of any 1-D array-like (every NaN is one value)."""
        column = np.asarray(column)
        if column.dtype == object:
            index: dict = {}
            codes = np.fromiter((index.setdefault(_hashable(value), len(index)) for value in column),
                                dtype=np.int64, count=column.shape[0])
            values = np.empty(len(index), dtype=object)
            values[:] = [None if key is _NAN else key for key in index]  # NaN and None are both missing
            return cls(codes, values)
        # floats by their bits: -0.0 stays apart from 0.0 (as Arrow's hashing keeps it)
        keys = column.astype(np.float64).view(np.int64) if column.dtype.kind == "f" else column
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty(order.size, dtype=np.int64)
        rank[order] = np.arange(order.size)
        return cls(rank[inverse.reshape(-1)], column[first[order]])

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    @property
    def shape(self) -> tuple[int]:
        return self.codes.shape

    def __getitem__(self, index):
        """A row's value for an integer index (as an array gives), else the rows as a CodedColumn."""
        codes = self.codes[index]
        return self.values[codes] if np.ndim(codes) == 0 else CodedColumn(codes, self.values)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return np.asarray(self.values[self.codes], dtype=dtype)

    def tolist(self) -> list:
        return np.asarray(self).tolist()


_NAN = object()


def _hashable(value):
    if isinstance(value, float) and value != value:
        return _NAN
    try:
        hash(value)
    except TypeError:
        return str(value)
    return value


def concat_columns(columns: Sequence) -> np.ndarray | CodedColumn:
    """Consecutive pieces of one column as one: coded pieces stay coded (their values are
    concatenated, so a value may appear twice), plain arrays are concatenated."""
    if not all(isinstance(column, CodedColumn) for column in columns):
        return np.concatenate([np.asarray(column) for column in columns])
    offsets = np.cumsum([0] + [column.values.shape[0] for column in columns[:-1]])
    return CodedColumn(np.concatenate([column.codes + offset for column, offset in zip(columns, offsets, strict=True)]),
                       np.concatenate([column.values for column in columns]))
