"""`qzgeo new-pack DIR`: write a minimal, valid, commented plan pack to start a city from.

The skeleton has one zone layer, one constraint layer (a 生态保护红线 and a 城镇开发边界), one
corridor line that site reports measure distances to, a style per layer, two maps (a public
overview, an internal conflict map) and a suitability model (双评价) that runs with the city's
DEM. Its geometry is a placeholder around ``--center``: replace
the GeoJSON files with the city's data, keeping the field names, and run ``qzgeo validate``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import click

from qzgeo._errors import InputError
from qzgeo.geo.crs import gk_epsg, gk_zone
from qzgeo.geo.edges import DENSIFY_STEP_DEG
from qzgeo.io.atomic import TEMP_PREFIX, signals_held, sweep_dead_writers
from qzgeo.io.paths import refuse_undecodable
from qzgeo.pack.confine import (
    MAX_TITLE_CHARS,
    bidi_problems,
    windows_name_fixed,
    windows_name_problem,
)

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_M_PER_DEG_LAT = 111_000.0

CATALOG = """\
# Plan pack "{name}": the catalog. Every key is described in docs/pack-guide.md.
# Geometry in this skeleton is a PLACEHOLDER around {lon}E {lat}N: replace the files in layers/
# with your city's data (keep the field names, or change name_field/class_field below).

[pack]
name = "{name}"                   # lower-case id; printed by every command
title = {title}
storage_crs = "EPSG:4490"         # CGCS2000 lon/lat: every layer is stored and measured in it
# Geometry work happens in a CGCS2000 3-degree Gauss-Krueger zone. Pick the zone whose central
# meridian is nearest your data (zone = round(longitude / 3); EPSG = 4509 + zone for the codes
# without a zone prefix). `qzgeo validate` warns if it is far from the data.
planar_crs = "EPSG:{epsg}"
extent = [{minx}, {miny}, {maxx}, {maxy}]   # [min lon, min lat, max lon, max lat] of the pack
# A box takes in neighbouring cities and the sea. Name a polygon layer (your districts, 行政区)
# whose union within `extent` is the land your data cover: parcels and sites outside it are
# 未核查 (unchecked), not "outside the 城镇开发边界". See docs/pack-guide.md (Coverage).
# coverage_layer = "districts"
notice = "示意 — placeholder data from `qzgeo new-pack`; replace before use"
attribution = "placeholder"

[params]
min_patch_m2 = 1.0                # conflict pieces smaller than this are not listed as patches

# One [[layers]] entry per layer. role: zone (analysed for available land), constraint
# (red lines: take area away or bound the zones), corridor (lines/points drawn and measured
# to), base (drawn only). sensitivity: public or internal (internal layers and anything derived
# from them never reach a public map). source/licence/precision are required on every layer.

[[layers]]
id = "zones"
title = "规划分区（示意）"
title_en = "Planned zones (placeholder)"
role = "zone"
path = "zones.geojson"
sensitivity = "public"
name_field = "名称"
publish_fields = ["名称", "来源", "精度"]   # the only fields a public page shows
source = "placeholder written by qzgeo new-pack"
licence = "CC0-1.0"
precision = "schematic"

[[layers]]
id = "control_lines"
title = "控制线（示意）"
title_en = "Control lines (placeholder)"
role = "constraint"
path = "control_lines.geojson"
sensitivity = "internal"
class_field = "类别"
name_field = "名称"
publish_fields = ["名称", "类别"]
# exclusion: its area is taken away from the zones; boundary: what lies OUTSIDE it conflicts.
constraint_classes = {{ "生态保护红线" = "exclusion", "城镇开发边界" = "boundary" }}
source = "placeholder written by qzgeo new-pack"
licence = "CC0-1.0"
precision = "schematic"

[[layers]]
id = "corridor"
title = "交通走廊（示意）"
title_en = "Transport corridor (placeholder)"
role = "corridor"
path = "corridor.geojson"
sensitivity = "public"
name_field = "名称"
publish_fields = ["名称", "来源", "精度"]
source = "placeholder written by qzgeo new-pack"
licence = "CC0-1.0"
precision = "schematic"

# What `qzgeo check` reports distances to: one entry per layer, labels in Chinese and English.
[[distances]]
layer = "corridor"
label = "距交通走廊"
label_en = "Distance to the transport corridor"
"""

STYLES = """\
# Symbology: one table per layer id (or per analysis output: available_land, conflicts).
# Symbol keys: fill, fill_opacity, stroke, weight, opacity, dash, pattern ("stripe"),
# pattern_color, pattern_angle, radius (points), legend. See docs/pack-guide.md.

[zones]
fill = "#BB9674"
fill_opacity = 0.5
stroke = "#6B4F33"
weight = 1.5
label_field = "名称"
legend = "规划分区"

[control_lines]
legend_title = "控制线"
[control_lines.classes."生态保护红线"]
fill = "#F4A6A6"
fill_opacity = 0.35
stroke = "#E00000"
weight = 2.0
legend = "生态保护红线"
[control_lines.classes."城镇开发边界"]
fill_opacity = 0.0
stroke = "#7B1FA2"
weight = 2.5
dash = "8 4"
legend = "城镇开发边界"

[corridor]
stroke = "#1565C0"
weight = 4.0
legend = "交通走廊"

[available_land]
fill = "#33A02C"
fill_opacity = 0.55
stroke = "#1B5E20"
weight = 1.0
legend = "可用地"

[conflicts]
class_field = "类别"
fill = "#E31A1C"
fill_opacity = 0.6
stroke = "#B10026"
weight = 1.0
legend = "冲突图斑"
"""

OVERVIEW = """\
# A public map: only public layers, no analysis derived from internal ones.
title = {title}
title_en = "Overview (placeholder)"
audience = "public"
layers = ["zones", "corridor"]
# No tile basemap: the map opens anywhere, offline too, and asks no foreign host for tiles.
# Others: tianditu_vec, tianditu_img (天地图; key in $QZGEO_TIANDITU_KEY), amap, osm.
basemap = "none"
# With "none" the page has no tile layer at all, so `basemaps` (the others a reader may switch
# to) are offered only beside a tile basemap. To start on 天地图 and offer OpenStreetMap (a
# host outside China: slow or blocked on many phones there) and no basemap, replace the line
# above with:
# basemap = "tianditu_vec"
# basemaps = ["osm", "none"]
description = "示意：由 qzgeo new-pack 生成的占位数据。"
"""

CONFLICTS = """\
# An internal map: may show internal layers and the analysis outputs.
title = "冲突分析（内部，示意）"
title_en = "Conflicts (internal, placeholder)"
audience = "internal"
layers = ["control_lines", "zones", "corridor"]
analysis = ["available_land", "conflicts"]
basemap = "none"                  # no tiles, no foreign host; or, in its place (see overview.toml):
# basemap = "tianditu_vec"
# basemaps = ["osm", "none"]
description = "内部：分区相对控制线的冲突图斑与可用地（占位数据）。"
"""


MODEL = """\
# A starting 双评价-style model (城镇建设适宜性), written by `qzgeo new-pack`: its breaks and
# weights are PLACEHOLDERS, not values of any official evaluation; set them from your city's.
# Run it with the city's DEM: qzgeo suitability --pack DIR --dem dem.tif (without a DEM the
# slope factor is left out, the other weights renormalised, and the output says so).
# Every key is described in README.md (双评价: qzgeo suitability).
title = "城镇建设适宜性（示意）"
title_en = "Suitability for urban construction (placeholder)"
description = "占位模型：坡度（需 DEM）与距交通走廊距离；生态保护红线为硬约束。"
resolution_m = 50
area = ["zones"]                  # the study area: the union of these polygon layers
zones = ["zones"]                 # the area table: m², 公顷 and 亩 of each class per feature
basemap = "none"

[combine]
method = "weighted_sum"
short_board = ["slope"]           # 木桶: slope grade 1 (> 25°) makes a cell 不适宜
short_board_grade = 1

[[factors]]
id = "slope"
title = "坡度"
kind = "slope"
raster = "dem"
breaks = [3, 8, 15, 25]           # degrees
grades = [5, 4, 3, 2, 1]
weight = 0.6
optional = true

[[factors]]
id = "corridor_distance"
title = "距交通走廊距离"
kind = "distance"
layers = ["corridor"]
breaks = [500, 1000, 2000, 4000]  # metres
grades = [5, 4, 3, 2, 1]
weight = 0.4

[[hard_limits]]                   # 不适宜 wherever these classes lie
layer = "control_lines"
classes = ["生态保护红线"]

[result]
breaks = [2.5, 3.5]               # score < 2.5 不适宜; < 3.5 一般适宜; else 适宜
classes = [
  { name = "不适宜", color = "#d7301f" },
  { name = "一般适宜", color = "#fdcc8a" },
  { name = "适宜", color = "#31a354" },
]
"""


def _feature(props: dict[str, str], geometry: dict[str, object]) -> dict[str, object]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _densified(corners: list[tuple[float, float]]) -> list[list[float]]:
    """The polyline through ``corners`` with vertices at most ``DENSIFY_STEP_DEG`` (≤ 200 m)
    apart: the maps draw a lon/lat edge straight in lon/lat, the analysis straight in the
    planar CRS, and loading a pack warns about edges over 1 km."""
    out = [corners[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(corners):
        n = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / DENSIFY_STEP_DEG))
        out.extend((x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1))
    return [[round(x, 6), round(y, 6)] for x, y in out]


def _box(lon: float, lat: float, dx: float, dy: float) -> dict[str, object]:
    """A polygon of dx × dy degrees centred on (lon, lat), counter-clockwise."""
    x0, x1, y0, y1 = lon - dx / 2, lon + dx / 2, lat - dy / 2, lat + dy / 2
    ring = _densified([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
    return {"type": "Polygon", "coordinates": [ring]}


def _collection(features: list[dict[str, object]]) -> str:
    data = {"type": "FeatureCollection", "features": features}
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def _toml_string(text: str) -> str:
    """``text`` as a TOML basic string: a quote or backslash in a title must not end or escape it.

    JSON's string escapes are TOML's, but for DEL, which TOML does not allow unescaped.

    >>> print(_toml_string('某市"规划"'))
    "某市\\"规划\\""
    """
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _marked_schematic(title: str) -> str:
    """``title`` with the 示意 mark once: a title that already says 示意 is not marked again."""
    return title if "示意" in title else f"{title}（示意）"


def skeleton_files(name: str, title: str, lon: float, lat: float) -> dict[str, str]:
    """The files of a pack skeleton around (lon, lat): relative path -> text."""
    d = 0.02  # ~2 km: the zone; the boundary and red line overlap it
    prov = {"来源": "placeholder (qzgeo new-pack)", "精度": "schematic"}
    zones = [_feature({"名称": "示例分区", **prov}, _box(lon, lat, d, d))]
    lines = [
        _feature(
            {"名称": "示例红线", "类别": "生态保护红线"}, _box(lon + d / 2, lat, d / 2, d / 2)
        ),
        _feature(
            {"名称": "示例边界", "类别": "城镇开发边界"}, _box(lon - d / 4, lat, d * 1.2, d * 1.5)
        ),
    ]
    road: dict[str, object] = {
        "type": "LineString",
        "coordinates": _densified([(lon - 2 * d, lat - d), (lon + 2 * d, lat - d)]),
    }
    corridor = [_feature({"名称": "示例走廊", **prov}, road)]
    epsg = gk_epsg(gk_zone(lon))
    bounds = {"minx": lon - 0.5, "miny": lat - 0.5, "maxx": lon + 0.5, "maxy": lat + 0.5}
    fmt = {k: round(v, 4) for k, v in bounds.items()}
    return {
        "layers/catalog.toml": CATALOG.format(
            name=name, title=_toml_string(title), lon=lon, lat=lat, epsg=epsg, **fmt
        ),
        "layers/zones.geojson": _collection(zones),
        "layers/control_lines.geojson": _collection(lines),
        "layers/corridor.geojson": _collection(corridor),
        "styles/layers.toml": STYLES,
        "maps/overview.toml": OVERVIEW.format(title=_toml_string(_marked_schematic(title))),
        "maps/conflicts.toml": CONFLICTS,
        "suitability/urban.toml": MODEL,
    }


def _center(value: str) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in value.split(","))
        gk_zone(lon)
    except ValueError:
        msg = f"expected LON,LAT in China (e.g. 121.1,41.1), got {value!r}"
        raise click.BadParameter(msg, param_hint="--center") from None
    if not 3.0 <= lat <= 54.0:
        msg = f"latitude {lat} is outside China (3..54N); give --center LON,LAT"
        raise click.BadParameter(msg, param_hint="--center")
    return lon, lat


@click.command(name="new-pack")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default=None, help="Pack id (lower-case, [a-z0-9_]). Default: FOLDER.")
@click.option("--title", default="新规划包", show_default=True, help="Pack title (Chinese).")
@click.option(
    "--center",
    default="114.3,30.6",
    show_default=True,
    help="LON,LAT of the placeholder data; sets planar_crs to the GK zone there.",
)
def command(folder: Path, name: str | None, title: str, center: str) -> None:
    """Write a minimal, valid, commented plan pack skeleton into FOLDER (new or empty)."""
    lon, lat = _center(center)
    marked = _marked_schematic(title)
    if len(marked) > MAX_TITLE_CHARS:  # every later command would refuse the overview map
        msg = (
            f"the overview map's title {marked[:20]!r}… would be {len(marked)} characters "
            f"(the title and （示意）), over the cap of {MAX_TITLE_CHARS}; shorten the title"
        )
        raise click.BadParameter(msg, param_hint="--title")
    for msg in bidi_problems(title, "the title"):  # every later command would refuse it
        raise click.BadParameter(msg, param_hint="--title")
    try:  # every command refuses such a pack folder (GDAL cannot be given its paths)
        refuse_undecodable(folder.absolute(), what="folder")
    except InputError as exc:
        raise click.BadParameter(str(exc), param_hint="FOLDER") from None
    _refuse_windows_names(folder, name)
    pack_name = name or folder.resolve().name.lower().replace("-", "_")
    if not _NAME_RE.match(pack_name):
        msg = f"{pack_name!r} is not a pack id; use lower-case letters, digits and _"
        raise click.BadParameter(msg, param_hint="--name")
    try:
        if folder.is_dir():
            sweep_dead_writers(folder / _STAGE)  # what a killed new-pack left
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            msg = f"{folder} is not empty; new-pack writes only into a new or empty folder"
            raise click.BadParameter(msg, param_hint="FOLDER")
        _write_whole(folder, skeleton_files(pack_name, title, lon, lat))
    except OSError as exc:  # a file on the way, a name too long, a folder not writable
        msg = (
            f"cannot write the pack into {folder}: {exc.strerror or exc} "
            f"({exc.filename or folder}); choose a new folder in a writable place"
        )
        raise click.BadParameter(msg, param_hint="FOLDER") from None
    nxt = f"qzgeo validate --pack {_shell(folder)}"
    click.echo(f"{folder}: pack {pack_name!r} written; next: {nxt}")


def _refuse_windows_names(folder: Path, name: str | None) -> None:
    """The pack folder's name and the pack id (which names ``<id>.qgz`` and ``<id>.gpkg`` of
    every publish) must be names Windows can hold: a pack made here is copied to planners'
    Windows machines, where a folder ``con`` or ``规划.`` cannot be made."""
    own = folder.resolve().name
    if why := windows_name_problem(own):
        msg = (
            f"the folder name {own!r} {why}; choose another FOLDER (e.g. {windows_name_fixed(own)})"
        )
        raise click.BadParameter(msg, param_hint="FOLDER")
    if name is not None and (why := windows_name_problem(name)):
        msg = (
            f"the pack id {name!r} {why}, and every publish names its QGIS project after it "
            f"({name}.qgz); choose another --name (e.g. {windows_name_fixed(name, '_city')})"
        )
        raise click.BadParameter(msg, param_hint="--name")


#: The hidden folder inside FOLDER where the skeleton is made: ``.qzgeo-tmp-pack.PID-...``.
_STAGE = "pack"


def _write_whole(folder: Path, files: dict[str, str]) -> None:
    """Write ``files`` under ``folder`` all or none: in a hidden folder inside it, whose
    parts are then moved in. Written one by one, a full disk or Ctrl-C part-way left a half
    pack that new-pack then refused to complete (the folder was not empty)."""
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        stage = Path(
            tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}tmp-{_STAGE}.{os.getpid()}-", dir=folder)
        )
    except OSError:
        if made:
            folder.rmdir()
        raise
    try:
        for rel, text in files.items():
            path = stage / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        with signals_held():  # the parts go in together
            for part in sorted({Path(rel).parts[0] for rel in files}):
                (stage / part).rename(folder / part)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        if made:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    stage.rmdir()


def _shell(folder: Path) -> str:
    """``folder`` as a shell word, so that the printed next step can be pasted as it is.

    A folder named like `我的 规划` was printed bare, and pasting it gave 'Got unexpected extra
    argument'. Plain paths (Chinese characters included) stay bare.
    """
    text = str(folder)
    if os.name == "nt":
        return subprocess.list2cmdline([text])  # quoted when it holds a space
    plain = re.fullmatch(r"[^\s'\"$`\\&|;<>()*?\[\]#~!{}]+", text)
    return text if plain else shlex.quote(text)
