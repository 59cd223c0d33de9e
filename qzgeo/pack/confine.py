"""What a pack may say: layer paths and TOML files confined to the pack, titles of a sane size.

A catalog ``path`` that is absolute, climbs with ``../`` or is a symlink out of the pack would
let a pack read (and publish) any file of the machine, and so would ``styles/x.toml`` or
``maps/x.toml`` linked out of it; a 50 MB title made a 157 MB page.
All are refused as pack problems, listed by ``qzgeo validate``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qzgeo.io.paths import read_text_file
from qzgeo.pack.model import LayerSpec, Pack

#: Map ids whose page another page of the same folder takes: the gallery, and what
#: ``qzgeo analyze --map`` and ``qzgeo check --out`` write (and replace, or remove) there.
TAKEN_MAP_IDS = {
    "index": "the gallery page index.html",
    "parcels": "parcels.html, the map `qzgeo analyze --map` writes (and analyze removes)",
    "check": "check.html, the page `qzgeo check --out` writes",
}

#: Names Windows keeps for devices, whatever the extension (``CON.html`` cannot be made there),
#: and the characters a Windows file name may not hold: a public folder posted from or
#: copied to Windows (IIS, a share, a zip opened in Explorer) loses such a page.
_DEVICE_NAMES = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"{p}{n}" for p in ("com", "lpt") for n in (*"123456789", *"\u00b9\u00b2\u00b3")}
)
_UNPORTABLE_CHARS = frozenset('<>:"/\\|?*')
#: Longest map id (UTF-8 bytes): its page's temporary name (``.qzgeo-tmp-<id>.html.<pid>-...``)
#: must fit the 255 bytes of a file name.
MAX_MAP_ID_BYTES = 120

#: Bidi embeddings, overrides and isolates: invisible, they show 'RTL' as 'LTR' on a page or
#: PDF sheet (a title that reads otherwise than it is written).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

#: Longest title (characters) and description a page may carry.
MAX_TITLE_CHARS = 200
MAX_DESCRIPTION_CHARS = 2000


def text_cap_problems(raw: dict[str, Any], where: str) -> list[str]:
    """Titles and descriptions over their caps (a 50 MB title made a 157 MB page)."""
    out = []
    caps = {"title": MAX_TITLE_CHARS, "title_en": MAX_TITLE_CHARS}
    caps["description"] = MAX_DESCRIPTION_CHARS
    for key, cap in caps.items():
        value = raw.get(key)
        text = value if isinstance(value, str) else ""
        out.extend(bidi_problems(text, f"{where}: `{key}`"))
        if isinstance(value, str) and len(value) > cap:
            out.append(
                f"{where}: `{key}` is {len(value):,} characters long, over the cap of {cap}; "
                f"shorten it (it starts {value[:20]!r})"
            )
    return out


def bidi_problems(text: str | None, what: str) -> list[str]:
    """The bidi controls of ``text``, a text some page, sheet or gallery shows (none: [])."""
    text = text or ""
    bidi = sorted({f"U+{ord(c):04X}" for c in text if c in _BIDI_CONTROLS})
    if not bidi:
        return []
    return [
        f"{what} holds the invisible direction control(s) {', '.join(bidi)}, "
        f"which reorder the text on pages and sheets (in {text[:40]!r}); delete them"
    ]


def shown_text_problems(pack: Pack) -> list[str]:
    """Bidi controls in the pack's other shown texts than titles (:func:`text_cap_problems`):
    the gallery's and sheets' [pack] texts, the sources on every page, the legends, the
    distance labels of site reports, and the map ids that name the pages' files."""
    where = "catalog.toml [pack]"
    out = bidi_problems(pack.title, f"{where}: `title`")
    for key in ("notice", "attribution", "organisation_name"):
        out += bidi_problems(getattr(pack, key), f"{where}: `{key.removesuffix('_name')}`")
    for spec in pack.layers.values():
        for key in ("source", "licence"):
            out += bidi_problems(getattr(spec, key), f"catalog.toml layer {spec.id!r}: `{key}`")
    for d in pack.distances:
        for key in ("label", "label_en"):
            out += bidi_problems(
                getattr(d, key), f"catalog.toml [[distances]] {d.layer!r}: `{key}`"
            )
    for style in pack.styles.values():
        at = f"{style.source_file} [{style.layer_id}]"
        out += bidi_problems(style.legend_title, f"{at}: `legend_title`")
        out += bidi_problems(style.default.legend, f"{at}: `legend`")
        for cls, sym in style.classes.items():
            out += bidi_problems(sym.legend, f"{at} class {cls!r}: `legend`")
    for mid in pack.maps:
        out += bidi_problems(mid, f"maps/{mid}.toml: the map id (its page's file name)")
    return out


def map_id_problems(map_id: str, where: str, earlier: Iterable[str] = ()) -> list[str]:
    """A map id whose page (``<id>.html``) another page of the output folder takes.

    Ids are compared ignoring case: on Windows, macOS and the web servers on them
    ``Index.html`` is ``index.html`` (the gallery), and two maps a case apart are one page.
    """
    key = map_id.casefold()
    unportable = _unportable(map_id)
    if unportable:
        return [
            f"{where}: the map id {map_id[:40]!r} (the file name) {unportable}, and it names the "
            "map's page; rename the file to letters, digits and _ (e.g. maps/overview.toml)"
        ]
    if key in TAKEN_MAP_IDS:
        return [
            f"{where}: the map id {map_id!r} is taken by {TAKEN_MAP_IDS[key]}; "
            "rename the file (e.g. maps/overview.toml)"
        ]
    twin = next((e for e in earlier if e.casefold() == key), None)
    if twin is not None:
        return [
            f"{where}: the map id {map_id!r} differs from maps/{twin}.toml only in case, and "
            "their pages are one file on Windows, macOS and many web servers; rename one"
        ]
    return []


def _unportable(map_id: str) -> str:
    """Why ``<map_id>.html`` is not a page name every system can hold ("" if it is)."""
    if len(map_id.encode("utf-8")) > MAX_MAP_ID_BYTES:
        return f"is {len(map_id.encode('utf-8'))} bytes long, over the cap of {MAX_MAP_ID_BYTES}"
    return windows_name_problem(map_id)


def windows_name_problem(name: str) -> str:
    """Why a file or folder ``name`` cannot be made on Windows ("" if it can): a device name
    whatever its extension, a character Windows refuses, a trailing space or dot (dropped).
    Packs and output folders are copied to planners' Windows machines.

    Examples
    --------
    >>> windows_name_problem("con"), windows_name_problem("锦州")
    ('is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9)', '')
    >>> windows_name_problem("a?b"), windows_name_problem("规划.")
    ("holds '?', which a Windows file name may not", 'ends in a space or dot, which Windows drops')
    """
    if name.split(".")[0].rstrip(" ").casefold() in _DEVICE_NAMES:
        return "is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9)"
    bad = sorted({c for c in name if c in _UNPORTABLE_CHARS or ord(c) < 32})
    if bad:
        return f"holds {''.join(bad)!r}, which a Windows file name may not"
    if name.endswith((" ", ".")):
        return "ends in a space or dot, which Windows drops"
    return ""


def windows_name_fixed(name: str, suffix: str = "_pack") -> str:
    """``name`` made one :func:`windows_name_problem` takes: refused characters as ``_``, no
    trailing space or dot, ``suffix`` after a device name (an example for a message).

    >>> windows_name_fixed("con"), windows_name_fixed("a?b. "), windows_name_fixed("aux.x")
    ('con_pack', 'a_b', 'aux_pack.x')
    """
    fixed = "".join("_" if c in _UNPORTABLE_CHARS or ord(c) < 32 else c for c in name)
    head, dot, tail = fixed.rstrip(" .").partition(".")
    if head.rstrip(" ").casefold() in _DEVICE_NAMES:
        head += suffix
    return head + dot + tail or suffix.strip("_")


def path_problems(root: Path, spec: LayerSpec) -> list[str]:
    """A layer path must resolve (symlinks followed) inside the pack folder."""
    if not spec.path or "://" in spec.path:
        return []
    where = f"catalog.toml layer {spec.id!r}"
    raw = Path(spec.path)
    resolved = (root / "layers" / raw).resolve()
    if raw.is_absolute() or not resolved.is_relative_to(root.resolve()):
        shown = spec.path if len(spec.path) < 300 else spec.path[:300] + "..."
        return [
            f"{where}: `path` {shown!r} leads outside the pack ({root.resolve()}); "
            "copy the data into the pack's layers/ folder and give a relative path"
        ]
    return []


def read_toml(path: Path, problems: list[str], root: Path | None = None) -> dict[str, Any] | None:
    """The table of a TOML file, or ``None`` with a problem for ``problems``.

    With ``root`` (a pack's TOML), a file that resolves (symlinks followed) outside the pack
    folder is a problem and is not read, as a layer ``path`` out of the pack is one.
    """
    if root is not None and not path.resolve().is_relative_to(root.resolve()):
        problems.append(
            f"{path}: a link to {path.resolve()}, outside the pack ({root.resolve()}); "
            "copy the file into the pack in place of the link"
        )
        return None
    try:
        return tomllib.loads(read_text_file(path))
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: not valid TOML ({exc}); fix the syntax")
    except OSError as exc:
        problems.append(f"{path}: cannot be read ({exc.strerror})")
    return None
