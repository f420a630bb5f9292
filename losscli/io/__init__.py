"""Reading inputs and writing outputs: CSV, Parquet, .npy and CSV on stdin.

pandas and pyarrow are imported only inside the functions that need them, so importing this
package (and ``losscli --help``) stays light.
"""

from .readers import FORMATS, extra_columns, file_format, read_table
from .table import STDIN, FileError, Table, as_input_array, describe_location, format_location, select_columns
from .table_writer import TableWriter
from .writers import append_line, write_array

__all__ = ["FORMATS", "STDIN", "FileError", "Table", "TableWriter", "append_line", "as_input_array",
           "describe_location", "extra_columns", "file_format", "format_location", "read_table", "select_columns",
           "write_array"]
