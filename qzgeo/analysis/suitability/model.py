"""Suitability models (双评价) as data: one ``suitability/<name>.toml`` per model in a pack.

A model names its inputs by catalog layer id or raster name, never by city. Reading a model
collects every problem (file, key, value and fix) and raises them all at once.

Schema
------
::

    title = "城镇建设适宜性（示意）"
    resolution_m = 30                   # default cell size; --resolution overrides
    area = ["districts"]                # the study area: union of these layers
    zones = ["port_zones"]              # zonal table; default every zone layer of the pack
    basemap = "none"                    # of the web map (none, the default, | osm)

    [combine]
    method = "weighted_sum"             # the weighted mean of the factor grades (1..5)
    short_board = ["slope"]             # 木桶: a listed factor at grade <= short_board_grade
    short_board_grade = 1               #   caps the score at that grade

    [[factors]]
    id = "slope"                        # lower-case identifier
    title = "坡度"
    kind = "slope"                      # slope | elevation | distance | class
    raster = "dem"                      # slope/elevation/class: a raster name (--dem is "dem")
    # layers = ["river"]                # distance: catalog layer ids; `classes` filters them
    breaks = [3, 8, 15, 25]             # ascending; value <= breaks[0] -> grades[0], ...
    grades = [5, 4, 3, 2, 1]            # len(breaks) + 1 grades in 1..5 (5 = most suitable)
    # classes = { "11" = 5, "50" = 1 }  # class: raster code -> grade
    weight = 0.3
    optional = true                     # skipped (weights renormalised) when its raster is absent

    [[hard_limits]]                     # 不适宜 whatever the factors say
    layer = "control_lines"
    classes = ["生态保护红线"]          # values of the layer's class_field; default every feature

    [result]
    breaks = [2.5, 3.5]                 # score < 2.5 -> classes[0], 2.5 <= score < 3.5 -> ...
    classes = [{ name = "不适宜", color = "#d7301f" }, ...]   # lowest first
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qzgeo._errors import PackError
from qzgeo.io.paths import read_text_file
from qzgeo.pack.confine import bidi_problems
from qzgeo.pack.model import Pack, pack_tomls

KINDS = ("slope", "elevation", "distance", "class")
RASTER_KINDS = ("slope", "elevation", "class")
SLOPE_BREAKS = (3.0, 8.0, 15.0, 25.0)  # 城镇建设 slope breaks of the 2020 双评价 guideline
FIVE_GRADES = (5, 4, 3, 2, 1)
MODEL_DIR = "suitability"
GRADE_NAMES = {1: "1 低", 2: "2 较低", 3: "3 中", 4: "4 较高", 5: "5 高"}
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
_TOP_KEYS = frozenset(
    {
        "title",
        "title_en",
        "description",
        "resolution_m",
        "area",
        "zones",
        "basemap",
        "combine",
        "factors",
        "hard_limits",
        "result",
    }
)
_FACTOR_KEYS = frozenset(
    {"id", "title", "kind", "raster", "layers", "classes", "breaks", "grades", "weight", "optional"}
)
_KIND_KEYS = {  # the keys each kind reads, beyond id, title, kind, weight and optional
    "slope": frozenset({"raster", "breaks", "grades"}),
    "elevation": frozenset({"raster", "breaks", "grades"}),
    "distance": frozenset({"layers", "classes", "breaks", "grades"}),
    "class": frozenset({"raster", "classes"}),
}
_LIMIT_KEYS = frozenset({"layer", "classes", "title"})
_BASEMAPS = ("osm", "none")


@dataclass(frozen=True)
class Factor:
    """One factor: where its values come from and how they are graded 1..5."""

    id: str
    title: str
    kind: str
    weight: float
    breaks: tuple[float, ...] = ()
    grades: tuple[int, ...] = ()
    raster: str | None = None
    layers: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()  # distance: class values of the layers to measure from
    class_grades: dict[int, int] = field(default_factory=dict)  # class: code -> grade
    optional: bool = False


@dataclass(frozen=True)
class HardLimit:
    """A layer (optionally some of its classes) whose area is 不适宜 whatever the factors say."""

    layer: str
    classes: tuple[str, ...] = ()
    title: str = ""


@dataclass(frozen=True)
class ResultClass:
    name: str
    color: str


@dataclass(frozen=True)
class Model:
    """A parsed, validated suitability model."""

    name: str
    path: Path
    title: str
    factors: tuple[Factor, ...]
    hard_limits: tuple[HardLimit, ...]
    breaks: tuple[float, ...]
    classes: tuple[ResultClass, ...]
    area: tuple[str, ...]
    zones: tuple[str, ...]
    resolution_m: float = 30.0
    short_board: tuple[str, ...] = ()
    short_board_grade: int = 1
    basemap: str = "none"  # no tile host asked unless the model names one
    title_en: str | None = None
    description: str = ""

    def layer_ids(self) -> list[str]:
        """Every catalog layer the model reads, in a stable order."""
        ids = [*self.area, *self.zones]
        for f in self.factors:
            ids.extend(f.layers)
        ids.extend(h.layer for h in self.hard_limits)
        return list(dict.fromkeys(ids))

    def raster_names(self) -> list[str]:
        return list(dict.fromkeys(f.raster for f in self.factors if f.raster))


def list_models(pack: Pack) -> list[str]:
    """Names of the models a pack declares (``suitability/*.toml``)."""
    return [p.stem for p in pack_tomls(pack.root / MODEL_DIR)]


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _or(text: str | None, default: str) -> str:
    """``text``, or ``default`` where the key is absent (or was refused)."""
    return default if text is None else text


def _is_grade(v: Any, top: int = 5) -> bool:
    """A whole grade 1..``top``; TOML's ``true`` is a bool, which Python counts as 1."""
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= top


class _Checker:
    """Collects problems as ``file: key: value; fix``."""

    def __init__(self, path: Path, pack: Pack) -> None:
        self.where = f"{path.parent.name}/{path.name}"
        self.pack = pack
        self.problems: list[str] = []

    def add(self, key: str, text: str) -> None:
        self.problems.append(f"{self.where}: `{key}` {text}")

    def text(self, table: dict[str, Any], key: str, shown: str = "") -> str | None:
        """``table[key]`` if it is a string (absent: None), else a problem, as the catalog's
        titles (a number or a list was shown as Python wrote it: ``['a']``)."""
        value = table.get(key)
        if value is None or isinstance(value, str):
            return value
        fix = f'in quotes, e.g. {key} = "..."'
        self.add(shown or key, f"must be a string ({fix}), got {value!r}")
        return None

    def layer_ids(self, key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(key, f"must be a list of catalog layer ids, got {value!r}")
            return ()
        for lid in value:
            if lid not in self.pack.layers:
                known = ", ".join(sorted(self.pack.layers))
                self.add(key, f"names unknown layer id {lid!r}; use one of: {known}")
        return tuple(value)

    def breaks(self, key: str, value: Any) -> tuple[float, ...]:
        if not isinstance(value, list) or not value or not all(_is_num(v) for v in value):
            self.add(key, f"must be a non-empty list of numbers, got {value!r}")
            return ()
        if any(b >= a for a, b in zip(value[1:], value, strict=False)):
            self.add(key, f"must be strictly ascending, got {value!r}; e.g. [3, 8, 15, 25]")
            return ()
        return tuple(float(v) for v in value)

    def grades(self, key: str, value: Any, n: int) -> tuple[int, ...]:
        ok = isinstance(value, list) and all(_is_grade(v) for v in value)
        if not ok:
            self.add(key, f"must be a list of whole grades 1..5 (5 = most suitable), got {value!r}")
            return ()
        if len(value) != n:
            self.add(key, f"needs {n} grades (one more than the breaks), got {len(value)}")
            return ()
        return tuple(value)


def _factor_keys(raw: dict[str, Any], key: str, kind: Any, ck: _Checker) -> None:
    """Keys no factor has, and keys its kind does not read (both were ignored unsaid)."""
    for k in sorted(set(raw) - _FACTOR_KEYS):
        ck.add(f"{key}.{k}", f"is not a factor key; known keys: {', '.join(sorted(_FACTOR_KEYS))}")
    if kind in _KIND_KEYS:
        common = {"id", "title", "kind", "weight", "optional"}
        for k in sorted((set(raw) & _FACTOR_KEYS) - common - _KIND_KEYS[kind]):
            ck.add(f"{key}.{k}", f"is not used by a {kind!r} factor; drop it or change `kind`")


def _distance_targets(
    raw: dict[str, Any], key: str, ck: _Checker
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A distance factor's ``layers`` and the ``classes`` of them it measures to."""
    given = raw.get("layers")
    layers = ck.layer_ids(f"{key}.layers", given) if given is not None else ()
    if not layers:
        ck.add(f"{key}.layers", "is missing or empty; name the layers to measure the distance to")
    cls = raw.get("classes", [])
    if not isinstance(cls, list) or not all(isinstance(c, str) for c in cls):
        ck.add(f"{key}.classes", f"must be a list of class values, got {cls!r}")
        return layers, ()
    return layers, tuple(cls)


def _factor(raw: Any, i: int, ck: _Checker) -> Factor | None:
    key = f"factors[{i}]"
    if not isinstance(raw, dict):
        ck.add(key, "must be a table ([[factors]])")
        return None
    fid = raw.get("id")
    if not isinstance(fid, str) or not _ID_RE.match(fid):
        ck.add(f"{key}.id", f"must be a lower-case identifier like 'road_distance', got {fid!r}")
        fid = f"factor{i}"
    key = f"factors[{i}] (id={fid!r})"
    kind = raw.get("kind")
    _factor_keys(raw, key, kind, ck)
    if kind not in KINDS:
        said = "is missing" if kind is None else f"is {kind!r}"
        ck.add(f"{key}.kind", f"{said}; use one of {', '.join(KINDS)}")
        return None
    weight: Any = raw.get("weight")
    if not _is_num(weight) or weight <= 0:
        ck.add(f"{key}.weight", f"must be a positive number, got {weight!r}")
        weight = 1.0
    raster: str | None = None
    layers: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    class_grades: dict[int, int] = {}
    breaks: tuple[float, ...] = ()
    grades: tuple[int, ...] = ()
    if kind in RASTER_KINDS:
        value = raw.get("raster", "dem" if kind != "class" else None)
        if not isinstance(value, str) or not _ID_RE.match(value):
            ck.add(f"{key}.raster", f"must name a raster like 'dem' or 'landcover', got {value!r}")
        else:
            raster = value
    else:
        layers, classes = _distance_targets(raw, key, ck)
    if kind == "class":
        table = raw.get("classes")
        if not isinstance(table, dict) or not table:
            ck.add(f"{key}.classes", 'must map raster codes to grades, e.g. { "11" = 5, "50" = 1 }')
        else:
            for code, g in table.items():
                if not re.fullmatch(r"-?\d+", str(code)) or not _is_grade(g):
                    ck.add(f"{key}.classes", f"entry {code!r} = {g!r}: use an integer code = 1..5")
                else:
                    class_grades[int(code)] = g
    else:
        default = SLOPE_BREAKS if kind == "slope" else None
        raw_breaks = raw.get("breaks", list(default) if default else None)
        breaks = ck.breaks(f"{key}.breaks", raw_breaks)
        if breaks:
            n = len(breaks) + 1
            raw_grades = raw.get("grades", list(FIVE_GRADES) if n == 5 else None)
            grades = ck.grades(f"{key}.grades", raw_grades, n)
        if kind == "slope" and breaks and (breaks[0] <= 0 or breaks[-1] >= 90):
            ck.add(f"{key}.breaks", f"slope breaks are degrees in (0, 90), got {list(breaks)!r}")
    optional = raw.get("optional", False)
    if not isinstance(optional, bool):
        ck.add(f"{key}.optional", f"must be true or false, got {optional!r}")
        optional = False
    return Factor(
        id=fid,
        title=_or(ck.text(raw, "title", f"{key}.title"), fid),
        kind=kind,
        weight=float(weight),
        breaks=breaks,
        grades=grades,
        raster=raster,
        layers=layers,
        classes=classes,
        class_grades=class_grades,
        optional=optional,
    )


def _limits(raw: Any, ck: _Checker) -> tuple[HardLimit, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        ck.add("hard_limits", "must be an array of tables ([[hard_limits]])")
        return ()
    out = []
    for i, item in enumerate(raw):
        key = f"hard_limits[{i}]"
        if not isinstance(item, dict):
            ck.add(key, "must be a table with `layer` and optional `classes`")
            continue
        for k in sorted(set(item) - _LIMIT_KEYS):
            ck.add(f"{key}.{k}", f"is not a hard-limit key; use {', '.join(sorted(_LIMIT_KEYS))}")
        lid = item.get("layer")
        if lid is None:
            ck.add(f"{key}.layer", "is missing; name the catalog layer that limits")
        else:
            ck.layer_ids(f"{key}.layer", [lid] if isinstance(lid, str) else lid)
        cls = item.get("classes", [])
        if not isinstance(cls, list) or not all(isinstance(c, str) for c in cls):
            ck.add(f"{key}.classes", f"must be a list of class values, got {cls!r}")
            cls = []
        title = ck.text(item, "title", f"{key}.title") or ""
        if isinstance(lid, str):
            out.append(HardLimit(layer=lid, classes=tuple(cls), title=title))
    return tuple(out)


def _result(raw: Any, ck: _Checker) -> tuple[tuple[float, ...], tuple[ResultClass, ...]]:
    if not isinstance(raw, dict):
        ck.add("result", "is missing; declare [result] breaks and classes (lowest class first)")
        return (), ()
    breaks = ck.breaks("result.breaks", raw.get("breaks"))
    if breaks and (breaks[0] <= 1 or breaks[-1] > 5):
        ck.add("result.breaks", f"score breaks must lie in (1, 5], got {list(breaks)!r}")
    classes = []
    raw_classes = raw.get("classes")
    if not isinstance(raw_classes, list) or not raw_classes:
        ck.add("result.classes", 'must list { name = "...", color = "#rrggbb" }, lowest first')
        raw_classes = []
    for i, c in enumerate(raw_classes):
        name = c.get("name") if isinstance(c, dict) else None
        color = c.get("color") if isinstance(c, dict) else None
        if not isinstance(name, str) or not name:
            ck.add(f"result.classes[{i}].name", f"must be a class name, got {name!r}")
        elif not isinstance(color, str) or not _COLOR_RE.match(color):
            ck.add(f"result.classes[{i}].color", f"must be '#rrggbb', got {color!r}")
        else:
            classes.append(ResultClass(name, color))
    if breaks and classes and len(classes) != len(breaks) + 1:
        ck.add("result.classes", f"needs {len(breaks) + 1} classes for {len(breaks)} breaks")
    return breaks, tuple(classes)


def _combine(raw: Any, factor_ids: list[str], ck: _Checker) -> tuple[tuple[str, ...], int]:
    raw = raw if isinstance(raw, dict) else {}
    method = raw.get("method", "weighted_sum")
    if method != "weighted_sum":
        ck.add("combine.method", f"is {method!r}; the supported method is 'weighted_sum'")
    short = raw.get("short_board", [])
    if not isinstance(short, list) or not all(isinstance(s, str) for s in short):
        ck.add("combine.short_board", f"must be a list of factor ids, got {short!r}")
        short = []
    for s in short:
        if s not in factor_ids:
            ck.add("combine.short_board", f"names unknown factor {s!r}; factors: {factor_ids}")
    grade = raw.get("short_board_grade", 1)
    if not _is_grade(grade, 4):
        ck.add("combine.short_board_grade", f"must be a grade 1..4, got {grade!r}")
        grade = 1
    return tuple(short), grade


def _shown_texts(
    raw: dict[str, Any],
    factors: list[Factor],
    classes: tuple[ResultClass, ...],
    limits: tuple[HardLimit, ...],
    ck: _Checker,
) -> None:
    """The texts the map, ``report.json`` and ``zones.csv`` show may hold no bidi control, as
    a pack's titles may not (:func:`qzgeo.pack.confine.bidi_problems`)."""
    shown = [(k, raw.get(k)) for k in ("title", "title_en", "description")]
    shown += [(f"factors[{i}].title", f.title) for i, f in enumerate(factors)]
    shown += [(f"result.classes[{i}].name", c.name) for i, c in enumerate(classes)]
    shown += [(f"hard_limits[{i}].title", h.title) for i, h in enumerate(limits)]
    for key, text in shown:
        if isinstance(text, str):
            ck.problems += bidi_problems(text, f"{ck.where}: `{key}`")


def read_model(pack: Pack, name: str) -> Model:
    """Read and validate ``suitability/<name>.toml`` of ``pack``; every problem at once.

    Raises
    ------
    PackError
        Listing each problem with the file, the key, the value and the fix.
    """
    path = pack.root / MODEL_DIR / f"{name}.toml"
    if not path.is_file():
        known = list_models(pack)
        hint = f"models of this pack: {', '.join(known)}" if known else "this pack declares none"
        msg = f"{MODEL_DIR}/{name}.toml does not exist in {pack.root}; {hint}"
        raise PackError([msg])
    try:
        raw = tomllib.loads(read_text_file(path))
    except tomllib.TOMLDecodeError as exc:
        raise PackError(
            [f"{MODEL_DIR}/{path.name}: not valid TOML ({exc}); fix the syntax"]
        ) from exc
    except OSError as exc:
        raise PackError([f"{MODEL_DIR}/{path.name}: cannot be read ({exc.strerror})"]) from None
    ck = _Checker(path, pack)
    for k in sorted(set(raw) - _TOP_KEYS):
        ck.add(k, f"is not a model key; known keys: {', '.join(sorted(_TOP_KEYS))}")
    raw_factors = raw.get("factors")
    if not isinstance(raw_factors, list) or not raw_factors:
        ck.add("factors", "is empty; declare at least one [[factors]] table")
        raw_factors = []
    factors = [f for i, r in enumerate(raw_factors) if (f := _factor(r, i, ck)) is not None]
    ids = [f.id for f in factors]
    if not math.isfinite(sum(f.weight for f in factors)):  # else each renormalised weight is 0
        shown = [f.weight for f in factors]
        ck.add("factors", f"weights {shown!r} sum to infinity; use e.g. 0.3 (renormalised to 1)")
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        ck.add("factors", f"id {dup!r} is used twice; factor ids must be unique")
    short, short_grade = _combine(raw.get("combine"), ids, ck)
    breaks, classes = _result(raw.get("result"), ck)
    limits = _limits(raw.get("hard_limits"), ck)
    area = ck.layer_ids("area", raw["area"]) if raw.get("area") is not None else ()
    if not area:
        ck.add("area", "is missing or empty; name the layers whose union is the study area")
    zones_raw = raw.get("zones")
    zones = (
        ck.layer_ids("zones", zones_raw)
        if zones_raw is not None
        else tuple(s.id for s in pack.zone_layers())
    )
    res = raw.get("resolution_m", 30.0)
    if not _is_num(res) or res <= 0:
        ck.add("resolution_m", f"must be a positive number of metres, got {res!r}")
        res = 30.0
    basemap = raw.get("basemap", "none")
    if basemap not in _BASEMAPS:
        ck.add("basemap", f"is {basemap!r}; use one of {', '.join(_BASEMAPS)}")
    texts = {k: ck.text(raw, k) for k in ("title", "title_en", "description")}
    _shown_texts(raw, factors, classes, limits, ck)
    if ck.problems:
        raise PackError(ck.problems)
    return Model(
        name=name,
        path=path,
        title=_or(texts["title"], name),
        factors=tuple(factors),
        hard_limits=limits,
        breaks=breaks,
        classes=classes,
        area=area,
        zones=zones,
        resolution_m=float(res),
        short_board=short,
        short_board_grade=short_grade,
        basemap=str(basemap),
        title_en=texts["title_en"],
        description=texts["description"] or "",
    )
