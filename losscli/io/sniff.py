"""What raw CSV bytes really are, and where their rows sit.

:func:`check_text` names what is not UTF-8 CSV text at all (compressed files, Parquet or .npy
under a .csv name, UTF-16, binary data) from the first bytes, so such a file is refused with a
message that says what it is instead of a misleading parse error. :func:`row_lines` gives the
file line of every data row when blank lines or quoted line breaks put rows and lines out of step.
"""

from __future__ import annotations

import re

import numpy as np

from .table import FileError

# (leading bytes, what the data is, what to do); none of them can start UTF-8 CSV text
SIGNATURES = (
    (rb"\x1f\x8b", "gzip-compressed", "decompress it first, e.g. gunzip -k FILE, or zcat FILE | losscli ... -"),
    (rb"PK\x03\x04", "a zip archive", "extract the CSV file first"),
    (rb"BZh[1-9]1AY&SY", "bzip2-compressed", "decompress it first, e.g. bunzip2 -k FILE"),
    (rb"\xfd7zXZ\x00", "xz-compressed", "decompress it first, e.g. unxz -k FILE"),
    (rb"\x28\xb5\x2f\xfd", "zstd-compressed", "decompress it first, e.g. unzstd FILE"),
    (rb"PAR1[\x00-\x08\x0b\x0c\x0e-\x1f]", "a Parquet file", "give it a .parquet name"),  # magic, then binary
    (rb"\x93NUMPY", "a NumPy .npy file", "give it a .npy name"),
    (rb"\xff\xfe\x00\x00|\x00\x00\xfe\xff", "UTF-32 text",
     "save it as UTF-8, e.g. iconv -f UTF-32 -t UTF-8 FILE > FILE.utf8.csv"),
    (rb"\xff\xfe|\xfe\xff", "UTF-16 text", "save it as UTF-8, e.g. iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8.csv"),
)
SNIFF_BYTES = 1 << 16


def check_text(source: str, head: bytes) -> None:
    """FileError unless ``head`` (the first bytes of a CSV source) can be CSV text in UTF-8."""
    for signature, what, hint in SIGNATURES:
        if re.match(signature, head[:16]):
            raise FileError(source, f"not CSV text: the data is {what}", hint=hint)
    if b"\x00" in head[:SNIFF_BYTES]:
        raise FileError(source, "not CSV text: the data holds NUL bytes (binary data, or UTF-16 text without a "
                        "byte-order mark)", hint="losscli reads CSV as UTF-8 text")


def header_text(source: str, data: bytes) -> None:
    """FileError naming line 1 if the header line of ``data`` is not UTF-8."""
    first = data[:data.find(b"\n") + 1 or len(data)]
    try:
        first.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FileError(source, f"line 1 (the header) is not UTF-8 text: byte {first[error.start]:#04x} at "
                        f"position {error.start + 1}", hint="save the file as UTF-8") from None


def row_lines(data: bytes, header: bool) -> np.ndarray | None:
    """The 1-based line of ``data`` each data row starts on, or None when row r is simply on
    line r + 1 (+ 1 with a header). Blank lines are skipped, as Arrow skips them; a line break
    inside quotes does not end a row (an even number of quotes before it: "" escapes a quote)."""
    blank = data.startswith((b"\n", b"\r\n")) or b"\n\n" in data or b"\n\r\n" in data
    body = data.find(b"\n") + 1 if header else 0  # a quoted header (as Arrow writes it) is one line
    if not blank and data.find(b'"', body) < 0:
        return None
    raw = np.frombuffer(data, dtype=np.uint8)
    breaks = np.flatnonzero(raw == 10)
    if data.find(b'"', body) >= 0:
        quotes_before = np.searchsorted(np.flatnonzero(raw == 34), breaks)
        record_ends = breaks[quotes_before % 2 == 0]
        if not blank and record_ends.size == breaks.size:
            return None
    else:
        record_ends = breaks
    starts = np.concatenate([[0], record_ends + 1])
    ends = np.concatenate([record_ends, [raw.size]])
    lengths = ends - starts - (raw[np.maximum(ends - 1, 0)] == 13)  # a CRLF record ends before its \r
    records = starts[lengths > 0]
    lines = np.searchsorted(breaks, records, side="left") + 1  # line = 1 + line breaks before the start
    lines = lines[1:] if header else lines
    expected = np.arange(lines.size) + (2 if header else 1)
    return None if np.array_equal(lines, expected) else lines
