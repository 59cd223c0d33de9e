"""The record of the files qzgeo wrote into an output folder (``OUT/.qzgeo.files``).

``publish`` builds ``public/`` and ``internal/`` aside and swaps them in whole, so a file that
someone else put into one of them (a logo for the website, notes for colleagues) would go with
the previous build. Every run therefore records the files it leaves in the parts, and a
``publish`` refuses (naming them) while a part holds a file that no run recorded. The other
commands (``analyze``, ``check --out``, ``suitability``) replace only their own files, so they
only add theirs to the record.

A folder written before the record existed has none: the files there are taken as qzgeo's
(as they were then), and the record starts with the next run. Only if its marker is the one
qzgeo writes, though: a folder whose ``.qzgeo`` someone else made (empty, or another tool's)
has no file of qzgeo's.

Examples
--------
>>> import tempfile
>>> out = Path(tempfile.mkdtemp())
>>> (out / "public").mkdir()
>>> _ = (out / "public" / "index.html").write_text("<html></html>")
>>> write_record(out, part_files(out))
>>> sorted(read_record(out) or ())
['public/index.html']
>>> _ = (out / "public" / "logo.png").write_bytes(b"mine")
>>> foreign_files(out, read_record(out))
['public/logo.png']
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from qzgeo._errors import OutputError
from qzgeo.io.atomic import TEMP_PREFIX, write_text

__all__ = [
    "MARKER_OPENING",
    "RECORD",
    "FileState",
    "foreign_files",
    "part_files",
    "read_record",
    "refuse_foreign",
    "update_record",
    "write_record",
]

RECORD = ".qzgeo.files"
_PARTS = ("public", "internal")

#: What tells a file rewritten by a run from one left as it was: (inode, size, mtime in ns).
#: qzgeo's writers replace files by renaming a new one into place, which changes the inode.
FileState = tuple[int, int, int]


def part_files(out: Path) -> dict[str, FileState]:
    """Every file (and symbolic link) under ``out``'s parts, by path relative to ``out``
    (``/``-separated); temporary files of qzgeo's writers are left out."""
    found: dict[str, FileState] = {}
    for part in _PARTS:
        root = out / part
        if not root.is_dir() or root.is_symlink():
            continue
        for folder, dirs, files in os.walk(root):  # symbolic links are not followed
            here = Path(folder)
            links = [d for d in dirs if (here / d).is_symlink()]
            dirs[:] = [d for d in dirs if not d.startswith(TEMP_PREFIX) and d not in links]
            for name in [*files, *links]:
                if name.startswith(TEMP_PREFIX):
                    continue
                st = (here / name).lstat()
                found[(here / name).relative_to(out).as_posix()] = (
                    st.st_ino, st.st_size, st.st_mtime_ns,
                )  # fmt: skip
    return found


#: How every marker (``OUT/.qzgeo``) qzgeo has written begins.
MARKER_OPENING = "This folder is written by qzgeo."


def _marked_by_qzgeo(out: Path) -> bool:
    marker = out / ".qzgeo"
    if not marker.is_file():  # a pipe would block the read
        return False
    try:
        with marker.open("rb") as fh:
            return fh.read(len(MARKER_OPENING)) == MARKER_OPENING.encode()
    except OSError:
        return False


def read_record(out: Path) -> set[str] | None:
    """The files the record lists, ``None`` if ``out`` has no record (or one qzgeo cannot
    read) and qzgeo's own marker (a folder written before records were kept); an empty set
    if neither: nothing there is qzgeo's."""
    try:
        data = json.loads((out / RECORD).read_text(encoding="utf-8"))
        files = data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        files = None
    if not isinstance(files, list):
        return None if _marked_by_qzgeo(out) else set()
    return {f for f in files if isinstance(f, str)}


def write_record(out: Path, files: Iterable[str]) -> None:
    """Write the record of ``files`` (sorted: a re-run writes the same bytes)."""
    doc = {"written_by": "qzgeo", "files": sorted(set(files))}
    write_text(out / RECORD, json.dumps(doc, ensure_ascii=False, indent=1) + "\n")


def foreign_files(out: Path, record: set[str] | None) -> list[str]:
    """The files under ``out``'s parts that ``record`` does not list (none without a record)."""
    if record is None:
        return []
    return sorted(set(part_files(out)) - record)


def refuse_foreign(out: Path) -> None:
    """Refuse a whole build (``publish``) while the parts hold files no qzgeo run wrote.

    Raises
    ------
    OutputError
        Naming the files and the fix.
    """
    foreign = foreign_files(out, read_record(out))
    if not foreign:
        return
    shown = ", ".join(str(out / f) for f in foreign[:5])
    more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
    msg = (
        f"{shown}{more} {'was' if len(foreign) == 1 else 'were'} not written by qzgeo, but "
        f"publish replaces {out / 'public'} and {out / 'internal'} whole and would drop "
        f"{'it' if len(foreign) == 1 else 'them'}. Move {'it' if len(foreign) == 1 else 'them'} "
        "out of the output folder (keep your own files beside it, not inside its parts), or "
        "publish into another --out folder"
    )
    raise OutputError(msg)


def update_record(out: Path, before: dict[str, FileState]) -> None:
    """Add to the record the files a run that replaces only its own files (not a whole
    build) wrote: those new or rewritten since ``before`` (:func:`part_files` at its start);
    files gone since are dropped from it."""
    after = part_files(out)
    written = {f for f, state in after.items() if before.get(f) != state}
    record = read_record(out)
    if record is None:  # a folder from before records: what was there was qzgeo's
        record = set(before)
    kept = (record | written) & set(after)
    if kept != record or not (out / RECORD).is_file():
        write_record(out, kept)
