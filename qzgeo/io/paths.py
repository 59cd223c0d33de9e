"""Paths GDAL can be given: checked before anything opens them, with no heavy import.

:mod:`qzgeo.pack.catalog` resolves the pack folder when a command starts (``qzgeo --help``
included), so this module imports nothing beyond the standard library.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from qzgeo._errors import InputError

__all__ = ["read_text_file", "refuse_special", "refuse_undecodable"]


def refuse_undecodable(path: str | os.PathLike[str], *, what: str = "path") -> None:
    r"""Refuse a path whose bytes are not UTF-8 (a GBK name from a Windows zip, say).

    Python keeps such bytes as lone surrogates, which GDAL's bindings cannot pass on: the
    read would end in a ``UnicodeEncodeError`` traceback. The message shows the bytes.

    Examples
    --------
    >>> refuse_undecodable("规划/地块.gpkg")
    >>> refuse_undecodable(os.fsdecode("地块".encode("gbk")))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    qzgeo._errors.InputError: path b'\xb5\xd8\xbf\xe9' is not UTF-8 ...
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = os.fsencode(text)
        msg = (
            f"{what} {raw!r} is not UTF-8 (a GBK name from a Windows zip or share?); rename it "
            "to UTF-8 (convmv -f gbk -t utf-8 -r --notest PATH) or unpack the zip again with "
            "unzip -O GBK"
        )
        raise InputError(msg) from None


def refuse_special(path: Path, shown: str | None = None) -> None:
    """Refuse a path that is there but is neither a file nor a folder (a named pipe, a
    device such as /dev/zero, a socket), also through a symlink: opening a pipe waits for a
    writer for ever, and a device is read without end.
    """
    try:
        mode = path.stat().st_mode
    except OSError:  # missing or unreadable: the caller says which
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        msg = (
            f"{shown or path} is not a file but a named pipe, device or socket; give the data "
            "file itself (copy what it delivers into a file first)"
        )
        raise InputError(msg)


#: The largest pack TOML qzgeo reads (a catalog of a thousand layers is ~0.5 MB).
MAX_TOML_BYTES = 16_000_000


def read_text_file(path: Path, cap: int = MAX_TOML_BYTES) -> str:
    """The text of a small file of the pack (a TOML), refusing what is not one.

    A named pipe as ``maps/x.toml`` (or ``layers/catalog.toml``) made validate wait for ever,
    ``styles/x.toml`` linked to /dev/zero filled the memory until the process was killed, and
    a map saved in GBK ended in a UnicodeDecodeError traceback.

    Raises
    ------
    OSError
        Not a regular file, over ``cap`` bytes or not UTF-8 (its ``strerror`` says which).
    """
    if not stat.S_ISREG(path.stat().st_mode):
        raise OSError(errno.EINVAL, "not a file but a folder, named pipe, device or socket")
    with path.open("rb") as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise OSError(errno.EFBIG, f"over {cap:,} bytes, too big for a pack file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        why = f"not UTF-8 at byte {exc.start:,}; save it as UTF-8"
        raise OSError(errno.EILSEQ, why) from None
