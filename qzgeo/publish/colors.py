"""The colours of ``styles/*.toml`` as the pages, the PDF sheets and the QGIS project draw them.

One reading for all three, and for ``qzgeo validate``: ``#rgb``, ``#rgba``, ``#rrggbb``,
``#rrggbbaa``, ``rgb(r, g, b)`` / ``rgba(r, g, b, a)`` (0-255 or percentages, alpha 0-1) and
the CSS colour names. A colour only some of them could read (``rgb(300, 2)``, a name no browser
knows such as ``banana``) was drawn black on the page and crashed ``publish --pdf``.
"""

from __future__ import annotations

import re

from qzgeo._errors import PublishError

__all__ = ["css_rgba", "sheet_rgba"]

_HEX_RE = re.compile(r"^#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_RGB_RE = re.compile(r"^rgba?\(\s*([^)]*)\)$")
_NAME_RE = re.compile(r"^[a-zA-Z]{3,20}$")


def _css_named(name: str) -> tuple[int, int, int, int]:
    """A CSS colour name (matplotlib's CSS4 table, the names browsers know)."""
    try:
        from matplotlib.colors import CSS4_COLORS
    except ImportError:  # pragma: no cover - matplotlib is a dependency of the sheets
        msg = f"{name!r} cannot be converted without matplotlib; write it as '#rrggbb'"
        raise PublishError(msg) from None
    hexa = CSS4_COLORS.get(name.lower()) if _NAME_RE.match(name) else None
    if hexa is None:
        msg = f"{name!r} is not a colour: no CSS colour has that name; write it as '#rrggbb'"
        raise PublishError(msg)
    return css_rgba(hexa)


def css_rgba(value: object) -> tuple[int, int, int, int]:
    """``value`` as red, green, blue and alpha (0-255); else a :class:`PublishError`.

    Examples
    --------
    >>> css_rgba("#abc"), css_rgba("rgba(10%, 20%, 30%, 0.5)"), css_rgba("DarkGrey")
    ((170, 187, 204, 255), (26, 51, 76, 128), (169, 169, 169, 255))
    >>> css_rgba("rgb(300, 2)")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    qzgeo._errors.PublishError: 'rgb(300, 2)' is not a colour: rgb() takes 3 numbers 0-255...
    """
    if not isinstance(value, str):
        msg = f"{value!r} is not a colour: write it in quotes, as '#rrggbb'"
        raise PublishError(msg)
    text = value.strip()
    if m := _HEX_RE.match(text):
        digits = m.group(1)
        if len(digits) in (3, 4):
            digits = "".join(c * 2 for c in digits)
        if len(digits) == 6:
            digits += "ff"
        r, g, b, a = (int(digits[i : i + 2], 16) for i in range(0, 8, 2))
        return r, g, b, a
    if m := _RGB_RE.match(text):
        parts = [p.strip() for p in m.group(1).split(",")]
        try:
            rgb = [
                round(float(p[:-1]) * 2.55) if p.endswith("%") else round(float(p))
                for p in parts[:3]
            ]
            alpha = round(float(parts[3]) * 255) if len(parts) == 4 else 255
        except (ValueError, IndexError):
            alpha, rgb = -1, []
        if len(parts) <= 4 and len(rgb) == 3 and all(0 <= v <= 255 for v in (*rgb, alpha)):
            return rgb[0], rgb[1], rgb[2], alpha
        msg = f"{value!r} is not a colour: rgb() takes 3 numbers 0-255 (rgba() 4); use '#rrggbb'"
        raise PublishError(msg)
    return _css_named(text)


def sheet_rgba(value: object, alpha: float) -> tuple[float, float, float, float]:
    """``value`` at ``alpha`` as matplotlib takes a colour (0-1), as ``to_rgba(value, alpha)``.

    >>> sheet_rgba("#ff0000", 0.5)
    (1.0, 0.0, 0.0, 0.5)
    """
    r, g, b, _ = css_rgba(value)
    return r / 255, g / 255, b / 255, float(alpha)
