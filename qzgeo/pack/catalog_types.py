"""Type checks of catalog.toml values: every key's value has the type it must have.

A mistyped value (a list for a string, a number in quotes, an unknown or non-planar CRS) is a
problem naming catalog.toml, the key, the value and the fix, collected like every other pack
problem (:func:`qzgeo.pack.catalog.load_pack`), never a crash later in a stage.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Collection
from typing import Any

from qzgeo.pack.confine import windows_name_fixed, windows_name_problem

__all__ = [
    "PACK_STR_KEYS",
    "QZGEO_PARAMS",
    "check_coverage_layer",
    "check_crs",
    "check_pack_name",
    "did_you_mean",
    "opt_choice",
    "opt_str",
    "parse_extent",
    "parse_params",
    "symbol_values",
    "unknown_key_problems",
]

#: The string keys of ``[pack]``.
PACK_STR_KEYS = (
    "name",
    "title",
    "storage_crs",
    "planar_crs",
    "notice",
    "attribution",
    "tianditu_key",
    "reference_layer",
    "coverage_layer",
    "organisation",
)

#: The tables of catalog.toml, as they are written, and the other keys of ``[pack]``.
_CATALOG_TABLES = {
    "pack": "[pack]",
    "params": "[params]",
    "layers": "[[layers]]",
    "distances": "[[distances]]",
}
_PACK_OTHER_KEYS = ("extent",)


def check_pack_name(name: str, where: str, problems: list[str]) -> str:
    """``name``, with a problem unless it is a plain file name: it names the QGIS project and
    its GeoPackage (``<name>.qgz``, ``<name>.gpkg``), and ``../x`` wrote them outside the
    output folder.

    Examples
    --------
    >>> problems = []
    >>> check_pack_name("锦州", "catalog.toml [pack]", problems), problems
    ('锦州', [])
    >>> _ = check_pack_name("../x", "catalog.toml [pack]", problems); len(problems)
    1
    """
    odd = any(c in '/\\:*?"<>|' or not c.isprintable() for c in name)
    if odd or not name.strip() or name.startswith(".") or len(name) > 100:
        problems.append(
            f"{where}: name {name!r} is not a plain file name, and the QGIS project and its "
            "GeoPackage are named after it (<name>.qgz, <name>.gpkg); use one without "
            '/ \\ : * ? " < > |, a leading dot or control characters, at most 100 characters '
            '(e.g. name = "mycity")'
        )
    elif windows_name_problem(f"{name}.qgz"):  # the output folder is copied to Windows
        problems.append(
            f"{where}: name {name!r} is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, "
            f"LPT1-9), where the QGIS project and its GeoPackage named after it ({name}.qgz, "
            f'{name}.gpkg) cannot be made; use e.g. name = "{windows_name_fixed(name)}"'
        )
    return name


def unknown_key_problems(catalog: dict[str, Any], problems: list[str]) -> None:
    """A problem for every table of catalog.toml and key of ``[pack]`` qzgeo does not know.

    A misspelt one was ignored: ``planer_crs`` gave the zone of the data's centre, ``extnt`` no
    extent, ``[[distance]]`` no distances, all without a word.

    Examples
    --------
    >>> problems = []
    >>> unknown_key_problems({"pack": {"planer_crs": "EPSG:4538"}}, problems); problems
    ['catalog.toml [pack]: unknown key `planer_crs` (did you mean `planar_crs`?); known keys \
are attribution, coverage_layer, extent, name, notice, organisation, planar_crs, reference_layer, \
storage_crs, tianditu_key, title']
    """
    for key in sorted(set(catalog) - set(_CATALOG_TABLES)):
        shown = f"[[{key}]]" if isinstance(catalog[key], list) else f"[{key}]"
        problems.append(
            f"catalog.toml: unknown table `{shown}`{did_you_mean(key, _CATALOG_TABLES)}; "
            f"the tables are {', '.join(_CATALOG_TABLES.values())}"
        )
    head = catalog.get("pack")
    if not isinstance(head, dict):
        return
    known = {k: k for k in (*PACK_STR_KEYS, *_PACK_OTHER_KEYS)}
    for key in sorted(set(head) - set(known)):
        problems.append(
            f"catalog.toml [pack]: unknown key `{key}`{did_you_mean(key, known)}; "
            f"known keys are {', '.join(sorted(known))}"
        )


def did_you_mean(key: str, known: dict[str, str]) -> str:
    """`` (did you mean `X`?)`` for the known name closest to a misspelt ``key``, else ``""``.

    ``known`` maps each name to how it is written (``{"layers": "[[layers]]"}``).

    Examples
    --------
    >>> did_you_mean("sensitivty", {"sensitivity": "sensitivity", "source": "source"})
    ' (did you mean `sensitivity`?)'
    >>> did_you_mean("zzz", {"source": "source"})
    ''
    """
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean `{known[close[0]]}`?)" if close else ""


def opt_str(table: dict[str, Any], key: str, where: str, problems: list[str]) -> str | None:
    """``table[key]`` if it is a string (or absent: ``None``); else a problem naming it."""
    value = table.get(key)
    if value is None or isinstance(value, str):
        return value
    problems.append(
        f'{where}: `{key}` must be a string (in quotes, e.g. {key} = "..."), got {value!r}'
    )
    return None


def opt_choice(
    table: dict[str, Any], key: str, choices: tuple[str, ...], where: str, problems: list[str]
) -> str | None:
    """``table[key]`` spelt as in ``choices`` whatever its case (absent: ``None``), else a problem.

    Examples
    --------
    >>> problems: list[str] = []
    >>> opt_choice({"paper": "a4"}, "paper", ("A4", "A3"), "maps/m.toml", problems), problems
    ('A4', [])
    >>> opt_choice({"paper": "B5"}, "paper", ("A4", "A3"), "maps/m.toml", problems), problems
    (None, ["maps/m.toml: `paper` must be one of A4, A3 (any case), got 'B5'"])
    """
    value = table.get(key)
    if value is None:
        return None
    for choice in choices:
        if isinstance(value, str) and value.casefold() == choice.casefold():
            return choice
    shown = ", ".join(choices)
    problems.append(f"{where}: `{key}` must be one of {shown} (any case), got {value!r}")
    return None


def check_crs(
    value: str | None, where: str, key: str, problems: list[str], *, kind: str | None = None
) -> str | None:
    """``value`` if PROJ knows it (and it is ``kind``: projected/geographic), else a problem."""
    if value is None:
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    if isinstance(value, str) and "://" in value:
        # with PROJ_NETWORK=ON in the user's environment PROJ fetched the grid from that host
        problems.append(
            f"{where}: `{key}` {value[:200]!r} names a URL, which PROJ would fetch a grid from; "
            "qzgeo asks no host for data: use an EPSG code, or a grid installed locally "
            "(projsync, or the file in PROJ's data folder) by its name"
        )
        return None
    try:
        crs = CRS.from_user_input(value)
    except CRSError:
        problems.append(
            f"{where}: `{key}` {value!r} is not a CRS PROJ knows; use an EPSG code such as "
            "the CGCS2000 3-degree GK zone of the data (EPSG:4534..4554, by central meridian)"
        )
        return None
    if kind == "projected" and not crs.is_projected:
        problems.append(
            f"{where}: `{key}` {value!r} is {crs.name}, not a planar (projected) CRS; use the "
            "CGCS2000 3-degree Gauss-Krüger zone of the pack's data (EPSG:4534..4554)"
        )
        return None
    if kind == "geographic" and not crs.is_geographic:
        problems.append(
            f'{where}: `{key}` {value!r} is {crs.name}, not lon/lat; use "EPSG:4490" (CGCS2000)'
        )
        return None
    return value


#: The ``[params]`` qzgeo itself reads (the other keys are the pack build script's).
QZGEO_PARAMS = ("min_patch_m2", "publish_simplify_m")
# How alike (difflib ratio, case folded) a free key must be to one of QZGEO_PARAMS to be taken
# for a misspelling: min_patch_m, min_patch_mu, publish_simplfy_m are; min_area_m2 is not.
_PARAM_CUTOFF = 0.82


def parse_params(raw: Any, problems: list[str]) -> dict[str, float]:
    """``[params]``: every value a number (TOML ``1.5``, not ``"1.5 m2"``), no misspelt key.

    ``[params]`` takes free keys, but one very like a key qzgeo reads was meant to be that key
    and would be ignored without a word.

    Examples
    --------
    >>> problems = []
    >>> parse_params({"min_patch_m": 5.0, "buffer_width_m": 150}, problems)
    {'min_patch_m': 5.0, 'buffer_width_m': 150}
    >>> print(problems[0])  # doctest: +ELLIPSIS
    catalog.toml [params]: `min_patch_m` is not a key qzgeo reads (did you mean `min_patch_m2`?)...
    """
    where = "catalog.toml [params]"
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a table of name = number, got {raw!r}")
        return {}
    out: dict[str, float] = {}
    folded = {p.casefold(): p for p in QZGEO_PARAMS}
    for key in sorted(k for k in raw if k not in QZGEO_PARAMS):
        close = difflib.get_close_matches(str(key).casefold(), folded, n=1, cutoff=_PARAM_CUTOFF)
        if close:
            meant = folded[close[0]]
            problems.append(
                f"{where}: `{key}` is not a key qzgeo reads (did you mean `{meant}`?), so it "
                f"would be ignored; rename it `{meant}`, or, if the pack's build script reads "
                f"it, give it a name less like `{meant}`. qzgeo reads {', '.join(QZGEO_PARAMS)}"
            )
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(
                f"{where}: `{key}` must be a number without quotes or unit (e.g. {key} = 1.0), "
                f"got {value!r}"
            )
            continue
        if key in _PARAM_RANGES and not (math.isfinite(value) and _PARAM_RANGES[key][1](value)):
            what = _PARAM_RANGES[key][0]
            problems.append(f"{where}: `{key}` must be a number {what}, got {value!r}")
            continue
        out[str(key)] = value
    return out


#: What each of QZGEO_PARAMS must be, and the test of it.
_PARAM_RANGES: dict[str, tuple[str, Callable[[float], bool]]] = {
    "min_patch_m2": ("of 0 or more (m²)", lambda v: v >= 0),
    "publish_simplify_m": ("greater than 0 (metres)", lambda v: v > 0),
}
#: The number keys of a style symbol: what a value must be, the test of it, an example.
_SYMBOL_NUMBERS: dict[str, tuple[str, Callable[[float], bool], float]] = {
    "fill_opacity": ("from 0 to 1", lambda v: 0 <= v <= 1, 0.4),
    "opacity": ("from 0 to 1", lambda v: 0 <= v <= 1, 1.0),
    "weight": ("of 0 or more", lambda v: v >= 0, 1.5),
    "radius": ("of 0 or more", lambda v: v >= 0, 5.0),
    "pattern_angle": ("of degrees", lambda v: True, 45.0),
}


def symbol_values(raw: dict[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
    """``raw`` (a symbol's keys) less the values a symbol cannot be drawn with, each a problem
    naming ``where``, the key, the value and the fix: a number key that holds text or lies
    outside its range (``weight = "thick"``, ``fill_opacity = 7``), a ``legend`` that is no
    text. Left in, they crashed the PDF sheets and the QGIS project after ``validate`` said OK.

    Examples
    --------
    >>> problems: list[str] = []
    >>> symbol_values({"weight": "2", "fill_opacity": 0.5}, "styles/s.toml [roads]", problems)
    {'fill_opacity': 0.5}
    >>> print(problems[0])  # doctest: +ELLIPSIS
    styles/s.toml [roads]: `weight` must be a number of 0 or more, without quotes ...got '2'
    """
    out = {}
    for key, value in raw.items():
        if key == "legend" and not isinstance(value, str):
            problems.append(
                f'{where}: `legend` must be text in quotes (legend = "..."), got {value!r}'
            )
            continue
        if key in _SYMBOL_NUMBERS:
            what, fits, eg = _SYMBOL_NUMBERS[key]
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not (number and math.isfinite(value) and fits(value)):
                problems.append(
                    f"{where}: `{key}` must be a number {what}, without quotes "
                    f"(e.g. {key} = {eg}), got {value!r}"
                )
                continue
        out[key] = value
    return out


def parse_extent(raw: Any, problems: list[str]) -> tuple[float, float, float, float] | None:
    """``[pack] extent``: four numbers, west < east and south < north, in lon/lat."""
    if raw is None:
        return None
    if (
        not isinstance(raw, list)
        or len(raw) != 4
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw)
        or not (raw[0] < raw[2] and raw[1] < raw[3])
    ):
        problems.append(
            "catalog.toml [pack]: `extent` must be [minlon, minlat, maxlon, maxlat] (west < east, "
            f"south < north), got {raw!r}"
        )
        return None
    w, s, e, n = (float(v) for v in raw)
    on_earth = max(abs(w), abs(e)) <= 180 and max(abs(s), abs(n)) <= 90  # inf is not
    if on_earth and _meets_china((w, s, e, n)):
        return (w, s, e, n)
    # A box that misses China cannot hold a layer qzgeo reads: say what was meant rather than
    # let every layer be "wholly outside the pack extent" (the wrong CRS or zone, it said).
    if _meets_china((w, s, e, n)):
        fix = (
            "a longitude lies outside -180..180 or a latitude outside -90..90; give the box "
            "of the pack's data"
        )
    elif _meets_china((s, w, n, e)):
        fix = f"it reads lat-first; write lon first: extent = [{s:g}, {w:g}, {n:g}, {e:g}]"
    elif max(abs(w), abs(s), abs(e), abs(n)) > 180:
        fix = "these look like projected metres; give the box in CGCS2000 lon/lat (degrees)"
    else:
        fix = "it lies outside China (lon 73–135.1, lat 3–54); give the box of the pack's data"
    problems.append(
        "catalog.toml [pack]: `extent` must be [minlon, minlat, maxlon, maxlat] in lon/lat, "
        f"got {raw!r}: {fix}"
    )
    return None


def _meets_china(box: tuple[float, float, float, float]) -> bool:
    from qzgeo.geo.crs import CHINA_BOUNDS  # lazy: choosing a pack imports no geo stack

    w, s, e, n = CHINA_BOUNDS
    return box[0] <= e and box[2] >= w and box[1] <= n and box[3] >= s


def check_coverage_layer(
    value: str | None,
    layers: Collection[str],
    extent: tuple[float, float, float, float] | None,
    problems: list[str],
    *,
    extent_given: bool = False,
) -> str | None:
    """``[pack] coverage_layer``: a layer id of the catalog, in a pack with an ``extent``.

    ``extent_given``: the catalog has an `extent` that was refused (its own problem says why;
    "add an extent" would be wrong advice).

    Its data (polygons, not empty) are checked by :func:`qzgeo.pack.validate.check_pack`.
    """
    if value is None:
        return None
    where = "catalog.toml [pack]"
    if value not in layers:
        problems.append(
            f"{where}: `coverage_layer` {value!r} is not a layer id; known layers are "
            f"{', '.join(sorted(layers))}. Name the polygon layer of the land the pack's data "
            'cover (e.g. coverage_layer = "districts", its 行政区), or remove the key'
        )
        return None
    if extent is None and not extent_given:
        problems.append(
            f"{where}: `coverage_layer` {value!r} needs an `extent`: the coverage is the "
            "layer's polygons cut to that box; add extent = [minlon, minlat, maxlon, maxlat]"
        )
        return None
    return value if extent is not None else None
