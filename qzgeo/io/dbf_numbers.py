"""DBF numbers lost in the file itself: a numeric field filled with ``*`` (overflow stars).

ArcGIS and GDAL write ``**********`` into a DBF number field when a value does not fit its
width (an area in m² in an ``N(10,2)`` field); the number is gone from the file. GDAL, QGIS and
ArcGIS read such a cell as empty without a word, and converted or analyzed it left as an
empty cell nobody was told about.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

__all__ = ["overflowed_fields"]

#: Records read at a time (a 1M-record DBF is scanned in bounded memory).
_BLOCK_RECORDS = 65_536


def _numeric_fields(header: bytes) -> list[tuple[bytes, int, int]]:
    """``(raw name, offset in a record, width)`` of each N or F field."""
    out: list[tuple[bytes, int, int]] = []
    offset = 1  # the deletion flag
    for k in range(32, len(header) - 1, 32):
        desc = header[k : k + 32]
        if desc[:1] == b"\r" or len(desc) < 32:
            break
        width = desc[16] + (256 * desc[17] if desc[11:12] == b"C" else 0)
        if desc[11:12] in (b"N", b"F"):
            out.append((desc[:11].split(b"\0", 1)[0], offset, desc[16]))
        offset += width
    return out


def overflowed_fields(dbf: Path, fids: np.ndarray) -> dict[bytes, list[int]]:
    """Raw field name -> the records among ``fids`` (0-based record numbers) whose cell of that
    numeric field holds ``*``; fields without any are left out. Unreadable files give ``{}``
    (the reader says what is wrong with them)."""
    try:
        with dbf.open("rb") as fh:
            n_records, header_len, record_len = struct.unpack("<IHH", fh.read(32)[4:12])
            fh.seek(0)
            fields = _numeric_fields(fh.read(header_len))
            wanted = np.unique(np.asarray(fids, dtype=np.int64))
            wanted = wanted[(wanted >= 0) & (wanted < n_records)]
            if not fields or not len(wanted) or record_len == 0:
                return {}
            found: dict[bytes, list[int]] = {}
            every = int(wanted[-1] - wanted[0]) + 1 == len(wanted)  # a whole file, a chunk
            first = int(wanted[0])
            fh.seek(header_len + first * record_len)
            while first <= wanted[-1]:
                n = min(_BLOCK_RECORDS, int(wanted[-1]) - first + 1)
                raw = fh.read(n * record_len)
                block = np.frombuffer(raw, dtype=np.uint8)
                rows = block[: len(block) // record_len * record_len].reshape(-1, record_len)
                ids = np.arange(first, first + len(rows))
                keep = True if every else np.isin(ids, wanted)
                for name, offset, width in fields if b"*" in raw else ():  # memchr: most have none
                    cells = rows[:, offset : offset + width]
                    hit = keep & (cells == ord("*")).any(axis=1)
                    found.setdefault(name, []).extend(ids[hit].tolist())
                if len(rows) < n:
                    break
                first += n
    except (OSError, struct.error, ValueError):
        return {}
    return {name: ids for name, ids in found.items() if ids}
