"""The CJK font of a PDF sheet: found on the system, subset and embedded as TrueType.

matplotlib's PDF backend embeds fonts as CID TrueType (``pdf.fonttype = 42``). The Noto Sans
CJK collections shipped by Linux distributions hold CFF (PostScript) outlines, which
matplotlib would write as a *TrueType* font program: poppler warns ("Mismatch between font type
and embedded font file") and stricter readers may refuse it (matplotlib issue #20870). So the
characters a sheet uses are subset from the font with fontTools and, when the outlines are
CFF, converted to quadratic TrueType outlines (``cu2qu``, 1 font unit tolerance). The result is
a small, valid TrueType font that matplotlib subsets and embeds again.
"""

from __future__ import annotations

import functools
import os
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, TTLibError, newTable

from qzgeo._errors import PublishError

FONT_ENV = "QZGEO_CJK_FONT"
# Regular and bold faces, most wanted first; Debian/Ubuntu, Fedora/Arch, Alpine, WenQuanYi,
# Droid fallback, then Windows and macOS.
_REGULAR = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "/System/Library/Fonts/Supplemental/Songti.ttc",
)
_BOLD = {
    "NotoSansCJK-Regular.ttc": "NotoSansCJK-Bold.ttc",
    "NotoSansCJKsc-Regular.otf": "NotoSansCJKsc-Bold.otf",
    "msyh.ttc": "msyhbd.ttc",
}
_PROBE = "图例示意分区"
_INSTALL = (
    "install a CJK font (Debian/Ubuntu: apt-get install fonts-noto-cjk) or set "
    f"{FONT_ENV}=/path/to/font.ttc (TrueType/OpenType, collections allowed)"
)


@dataclass(frozen=True)
class FontFace:
    """One face of a font file (``index`` inside a .ttc collection)."""

    path: Path
    index: int
    name: str


#: Face names of Simplified Chinese glyph forms, most wanted first (Noto "SC", Windows
#: "GB"/YaHei); a face of none of them is taken only if no such face has the glyphs.
_SIMPLIFIED = (" SC", "SC ", " CN", "GB", "YaHei")


def _best_face(path: Path) -> FontFace | None:
    """The face of ``path`` to set sheets in: the first Simplified Chinese face (by name) with
    the glyphs of :data:`_PROBE`, else the first face with them; ``None`` if none has them."""
    try:
        st = path.stat()
    except OSError as exc:
        msg = f"cannot read the font {path}: {exc}; {_INSTALL}"
        raise PublishError(msg) from exc
    return _best_face_of(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=8)
def _best_face_of(path_text: str, mtime_ns: int, size: int) -> FontFace | None:
    """:func:`_best_face` once per version of a font file (a sheet asks for it several times).

    Only the candidates' character maps are read, in order of preference: decoding the map of
    every face of a CJK collection (ten in Noto Sans CJK) took ~1.3 s per call.
    """
    path = Path(path_text)
    try:
        if path.suffix.lower() in (".ttc", ".otc"):
            fonts = list(TTCollection(path_text, lazy=True).fonts)
        else:
            fonts = [TTFont(path_text, lazy=True)]
        names = [str(font["name"].getDebugName(4) or path.stem) for font in fonts]
    except (OSError, TTLibError) as exc:
        msg = f"cannot read the font {path}: {exc}; {_INSTALL}"
        raise PublishError(msg) from exc
    tagged = [i for tag in _SIMPLIFIED for i, name in enumerate(names) if tag in name]
    for i in dict.fromkeys([*tagged, *range(len(fonts))]):
        cmap = fonts[i].getBestCmap() or {}
        if all(ord(c) in cmap for c in _PROBE):
            return FontFace(path, i, names[i])
    return None


def find_cjk_font(*, bold: bool = False) -> FontFace:
    """The CJK face to set sheets in: ``$QZGEO_CJK_FONT``, else a known system font.

    Raises
    ------
    PublishError
        If no font with Chinese glyphs is found (the message says how to install one).
    """
    env = os.environ.get(FONT_ENV)
    if env:
        face = _best_face(Path(env))
        if face is None:
            msg = f"{FONT_ENV}={env} has no face with Chinese glyphs (e.g. 图例); {_INSTALL}"
            raise PublishError(msg)
        return face
    for candidate in _REGULAR:
        path = Path(candidate)
        if bold and path.name in _BOLD:
            path = path.with_name(_BOLD[path.name])
        if path.is_file():
            face = _best_face(path)
            if face is not None:
                return face
    if bold:
        return find_cjk_font(bold=False)
    msg = f"no font with Chinese glyphs found for the PDF sheets; {_INSTALL}"
    raise PublishError(msg)


@functools.lru_cache(maxsize=4)
def _advances(path: Path, index: int) -> tuple[dict[int, float], float]:
    """Advance widths in em by code point, and the width of a missing glyph (1 em)."""
    font = TTFont(str(path), fontNumber=index, lazy=True)
    cmap = font.getBestCmap() or {}
    hmtx = font["hmtx"]
    upem = float(font["head"].unitsPerEm)
    return {cp: hmtx[name][0] / upem for cp, name in cmap.items()}, 1.0


def advance_measure(face: FontFace) -> Callable[[str], float]:
    """A function giving the width of a text set in ``face``, in em (no kerning, as drawn).

    Sheets are set without OpenType layout features (:func:`subset_font`), so a text's width
    is the sum of its glyphs' advances.
    """
    widths, missing = _advances(face.path, face.index)

    def measure(text: str) -> float:
        return sum(widths.get(ord(c), missing) for c in text)

    return measure


#: The 缺字 mark: how Chinese print shows a character it cannot set, here one the font lacks.
MISSING_MARK = "□"
_VARIATION = range(0xFE00, 0xFE10)
# what follows an emoji within the one character a reader sees: skin tones, tags (subdivision
# flags), variation selectors (VS16 asks for the colour form) and combining marks
_MODIFIERS = (range(0x1F3FB, 0x1F400), range(0xE0020, 0xE0080), _VARIATION, range(0xE0100, 0xE01F0))
_INDICATORS = range(0x1F1E6, 0x1F200)  # two regional indicators are one flag


def _drawn(c: str) -> bool:
    """Whether matplotlib draws a glyph for ``c`` (private-use and unassigned: as a box)."""
    return c.isprintable() or unicodedata.category(c) in ("Co", "Cn")


def _cluster_end(text: str, i: int) -> int:
    """The end of the character a reader sees starting at ``text[i]`` (an emoji sequence)."""
    j = i + 1
    if ord(text[i]) in _INDICATORS and j < len(text) and ord(text[j]) in _INDICATORS:
        j += 1
    while j < len(text):
        if any(ord(text[j]) in r for r in _MODIFIERS) or unicodedata.category(text[j]) in (
            "Mn",
            "Me",
        ):
            j += 1
        elif text[j] == "\u200d" and j + 1 < len(text):  # a ZWJ sequence: 👨‍👩‍👧
            j += 2
        else:
            break
    return j


def mark_missing(face: FontFace, text: str) -> tuple[str, str]:
    """``text`` with each character ``face`` has no glyph for set as :data:`MISSING_MARK`,
    and those characters (an emoji with its modifiers, a ZWJ sequence or a flag get one mark).

    A variation selector the font lacks after a character it has is dropped: it only asks
    for another form of that character. So is a format character (a zero-width joiner or
    space, a soft hyphen): a sheet is set without shaping, on one line, where it could only
    draw a mark (a soft hyphen's bar) or break the text a reader searches (工业‍业‍园区).
    """
    widths, _ = _advances(face.path, face.index)
    out: list[str] = []
    lost: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if unicodedata.category(c) == "Cf":
            i += 1
        elif ord(c) in widths or c.isspace() or not _drawn(c):
            out.append(c)
            i += 1
        elif ord(c) in _VARIATION:
            i += 1
        else:
            j = _cluster_end(text, i)
            out.append(MISSING_MARK)
            lost.append(text[i:j])
            i = j
    return "".join(out), "".join(lost)


def _to_truetype(font: TTFont) -> None:
    """Replace CFF outlines by quadratic ``glyf`` outlines (fontTools' otf2ttf recipe)."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    for tag in ("CFF ", "CFF2", "VORG"):
        if tag in font:
            del font[tag]
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"
    font.recalcBBoxes = True


def subset_font(face: FontFace, text: Iterable[str], out: Path) -> Path:
    """Write a TrueType font with the glyphs of ``text`` (plus printable ASCII) to ``out``.

    Raises
    ------
    PublishError
        If the face lacks a glyph for a character of ``text`` (named in the message):
        :func:`mark_missing` first.
    """
    # private-use and unassigned characters are not printable but drawn (as a box) all the same
    drawn = {c for s in text for c in s if _drawn(c)}
    chars = drawn | {chr(i) for i in range(32, 127)}
    opts = subset.Options()
    opts.font_number = face.index
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.layout_features = []
    opts.hinting = False
    opts.desubroutinize = True
    font = subset.load_font(str(face.path), opts)
    cmap = font.getBestCmap() or {}
    missing = sorted(c for c in chars if ord(c) not in cmap and not c.isspace())
    if missing:
        shown = "".join(missing[:20])
        msg = (
            f"the font {face.name} ({face.path}) has no glyph for {shown!r} used on a sheet; "
            f"set {FONT_ENV} to a font that has them"
        )
        raise PublishError(msg)
    subsetter = subset.Subsetter(opts)
    subsetter.populate(text="".join(sorted(chars)))
    subsetter.subset(font)
    if "glyf" not in font:
        _to_truetype(font)
    font.save(str(out))
    return out
