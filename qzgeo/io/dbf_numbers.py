"""DBF cells GDAL reads as something else than they hold, without a word.

- A number field filled with ``*`` (overflow stars): ArcGIS and GDAL write ``**********`` into
  it when a value does not fit its width (an area in m² in an ``N(10,2)`` field); the number is
  gone from the file, and GDAL, QGIS and ArcGIS read the cell as empty.
- A date field holding a day no calendar has (``20230230``, a typo): GDAL rolls it over into
  another real date (2023-03-02), which then looks right in every output.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

__all__ = ["DbfOddCells", "odd_cells"]

#: Records read at a time (a 1M-record DBF is scanned in bounded memory).
_BLOCK_RECORDS = 65_536
_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


@dataclass
class DbfOddCells:
    """Per raw field name, the records (0-based) whose cell GDAL reads otherwise."""

    stars: dict[bytes, list[int]] = field(default_factory=dict)
    #: ``(record, the cell's text)`` of dates that are no day of the calendar
    bad_dates: dict[bytes, list[tuple[int, str]]] = field(default_factory=dict)


def _fields(header: bytes) -> list[tuple[bytes, bytes, int, int]]:
    """``(raw name, type, offset in a record, width)`` of each N, F and D field."""
    out: list[tuple[bytes, bytes, int, int]] = []
    offset = 1  # the deletion flag
    for k in range(32, len(header) - 1, 32):
        desc = header[k : k + 32]
        if desc[:1] == b"\r" or len(desc) < 32:
            break
        kind = desc[11:12]
        width = desc[16] + (256 * desc[17] if kind == b"C" else 0)
        if kind in (b"N", b"F") or (kind == b"D" and width == 8):
            out.append((desc[:11].split(b"\0", 1)[0], kind, offset, width))
        offset += width
    return out


def _impossible(cells: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Rows of 8-byte ``YYYYMMDD`` cells that are all digits but no day of the calendar
    (blank and ``00000000`` are empty dates, as ArcGIS writes them: not flagged)."""
    digits = cells.astype(np.int64) - ord("0")
    numeric = ((digits >= 0) & (digits <= 9)).all(axis=1)
    weights = 10 ** np.arange(7, -1, -1)
    value = np.where(numeric, (np.clip(digits, 0, 9) * weights).sum(axis=1), 0)
    year, month, day = value // 10_000, value // 100 % 100, value % 100
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last = _DAYS[np.clip(month, 0, 12)] - ((month == 2) & ~leap)
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (day <= last)
    return numeric & (value != 0) & ~ok


def _blocks(
    fh: BinaryIO, wanted: npt.NDArray[np.int64], header_len: int, record_len: int
) -> Iterator[tuple[bytes, npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.bool_]]]:
    """``(raw bytes, records as rows, their numbers, which are wanted)`` block by block."""
    every = int(wanted[-1] - wanted[0]) + 1 == len(wanted)  # a whole file, a chunk
    first = int(wanted[0])
    fh.seek(header_len + first * record_len)
    while first <= wanted[-1]:
        n = min(_BLOCK_RECORDS, int(wanted[-1]) - first + 1)
        raw = fh.read(n * record_len)
        block = np.frombuffer(raw, dtype=np.uint8)
        rows = block[: len(block) // record_len * record_len].reshape(-1, record_len)
        ids = np.arange(first, first + len(rows))
        yield raw, rows, ids, (np.ones(len(ids), bool) if every else np.isin(ids, wanted))
        if len(rows) < n:
            break
        first += n


def odd_cells(dbf: Path, fids: npt.ArrayLike) -> DbfOddCells:
    """The cells among records ``fids`` (0-based) with overflow stars or impossible dates.
    Unreadable files give nothing (the reader says what is wrong with them)."""
    found = DbfOddCells()
    try:
        with dbf.open("rb") as fh:
            n_records, header_len, record_len = struct.unpack("<IHH", fh.read(32)[4:12])
            fh.seek(0)
            fields = _fields(fh.read(header_len))
            wanted = np.unique(np.asarray(fids, dtype=np.int64))
            wanted = wanted[(wanted >= 0) & (wanted < n_records)]
            if not fields or not len(wanted) or record_len == 0:
                return found
            for raw, rows, ids, keep in _blocks(fh, wanted, header_len, record_len):
                for name, kind, offset, width in fields:
                    cells = rows[:, offset : offset + width]
                    if kind == b"D":
                        for i in np.flatnonzero(keep & _impossible(cells)):
                            text = bytes(cells[i]).decode("ascii")
                            found.bad_dates.setdefault(name, []).append((int(ids[i]), text))
                    elif b"*" in raw:  # memchr: most blocks have none
                        hit = keep & (cells == ord("*")).any(axis=1)
                        if hit.any():
                            found.stars.setdefault(name, []).extend(ids[hit].tolist())
    except (OSError, struct.error, ValueError):
        return DbfOddCells()
    return found
