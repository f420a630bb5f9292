"""Reading inputs and writing outputs: CSV, Parquet, .npy and CSV on stdin.

pandas and pyarrow are imported only inside the functions that need them, so importing this
package (and ``losscli --help``) stays light; the writers load on first use (a run without
output files never needs them).
"""

from importlib import import_module

from .arrow import extra_columns
from .coded import CodedColumn
from .readers import FORMATS, file_format, read_table
from .table import STDIN, FileError, Table, as_input_array, describe_location, format_location, select_columns

_WRITERS = {"TableWriter": "table_writer", "append_line": "writers", "write_array": "writers"}

__all__ = ["FORMATS", "STDIN", "CodedColumn", "FileError", "Table", "as_input_array", "describe_location",
           "extra_columns", "file_format", "format_location", "read_table", "select_columns", *_WRITERS]


def __getattr__(name: str):
    if name in _WRITERS:
        return getattr(import_module(f".{_WRITERS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
