"""The text of a 界址点坐标 file: its encoding told by the caller, by a byte-order mark, by
decoding as UTF-8, else GBK (with a note, as that one is a guess). Apart from the parser in
:mod:`qzgeo.io.jzd_read`, which is long enough without it."""

from __future__ import annotations

from qzgeo._errors import InputError
from qzgeo.notices import Notices

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode_jzd(data: bytes, encoding: str | None, name: str, notes: Notices) -> tuple[str, str]:
    """Decode with ``encoding``, else by the BOM (UTF-8, UTF-16), else UTF-8 if it decodes,
    else GBK (with a note: that one is a guess)."""
    if encoding is not None:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            msg = f"{name}: cannot decode as {encoding!r} ({exc}); try encoding='gbk' or 'utf-8'"
            raise InputError(msg) from exc
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec).lstrip("\ufeff"), codec
            except UnicodeDecodeError as exc:
                msg = f"{name}: starts with a {codec} byte-order mark but is not {codec} ({exc})"
                raise InputError(msg) from exc
    # UTF-8 text read as GBK decodes to mojibake without an error, GBK text read as strict
    # UTF-8 fails: so trying UTF-8 first is the safe order for a GBK-default format.
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        msg = (
            f"{name}: neither GBK nor UTF-8 text ({exc}); pass encoding=... / --encoding "
            "(UTF-16 files need a byte-order mark, or --encoding utf-16-le)"
        )
        raise InputError(msg) from exc
    notes.add(
        f"{name}: no encoding given and the text is not UTF-8; read as GBK (GB18030). "
        "If names look wrong, pass --encoding",
        kind="note",
        source=name,
    )
    return text, "gbk"
