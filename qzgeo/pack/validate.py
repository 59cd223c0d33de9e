"""Validation of a plan pack: collect every problem, then raise them all at once.

Checks the catalog against its data (files, layers, CRS, fields, class values), the styles
against the catalog and the data, and the maps against the catalog and the audience rules.
Data are read through :func:`qzgeo.io.vector.read_layer`, with the same CRS, datum and
extent checks as loading, so that what validates also loads.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from qzgeo._errors import PackError, QzgeoError
from qzgeo.io.guard import admit_path
from qzgeo.io.layer_info import layer_form_hint
from qzgeo.io.postgis_uri import is_postgis_uri
from qzgeo.io.vector import list_layers
from qzgeo.pack.class_values import class_key, class_texts
from qzgeo.pack.confine import shown_text_problems
from qzgeo.pack.coverage import area_layer_problems, coverage_problems
from qzgeo.pack.load import enforce_layer_extent, read_pack_layer
from qzgeo.pack.model import ANALYSIS_OUTPUTS, LayerSpec, Pack

# Formats that hold one layer: no need to list layers first.
_SINGLE_LAYER_SUFFIXES = frozenset(
    {".txt", ".dxf", ".parquet", ".geoparquet", ".geojson", ".json", ".shp", ".fgb"}
)
# Analysis outputs can be styled and mapped like layers.
_ANALYSIS_FIELDS = {
    "available_land": {"id", "zone_layer", "zone_fid", "名称", "area_m2", "area_ha", "area_mu"},
    "conflicts": {
        "id",
        "zone_layer",
        "zone_fid",
        "名称",
        "constraint_layer",
        "类别",
        "mode",
        "area_m2",
        "area_ha",
        "area_mu",
    },
}


def _read(pack: Pack, spec: LayerSpec, problems: list[str]) -> gpd.GeoDataFrame | None:
    """The layer read as loading reads it (same reader, CRS and extent checks), or None.

    A problem is recorded for anything loading would refuse: a missing file, an ambiguous
    or missing layer, no CRS, coordinates that do not fit the CRS, an old datum, data
    wholly outside the pack extent, text that is not valid in its encoding.
    """
    where = f"catalog.toml layer {spec.id!r}"
    if is_postgis_uri(spec.path):
        return None  # remote sources (PostGIS) are checked when loaded
    path = Path(pack.layer_path(spec))
    if not path.is_relative_to(pack.root):
        return None  # refused by load_pack: a path must stay inside the pack
    if not path.exists():
        hint = layer_form_hint(str(path))  # `path = "x.gpkg:zones"`: the layer goes in `layer`
        problems.append(
            f"{where}: file {spec.path!r} not found in {path.parent}; {hint or 'fix `path`'}"
        )
        return None
    try:
        admit_path(path)  # driver allow-list before GDAL opens anything: no VRT, /vsi*, PREFIX:
    except QzgeoError as exc:
        problems.append(f"{where}: {exc}")
        return None
    if spec.layer is None and path.suffix.lower() not in _SINGLE_LAYER_SUFFIXES:
        try:
            names = list_layers(path)
        except QzgeoError as exc:
            problems.append(f"{where}: cannot open {spec.path!r} ({exc}); is it a vector file?")
            return None
        if len(names) > 1:
            problems.append(
                f"{where}: {spec.path!r} has several layers ({', '.join(names)}); set `layer`"
            )
            return None
    try:
        gdf = read_pack_layer(pack, spec)
        enforce_layer_extent(pack, spec, gdf)
    except QzgeoError as exc:
        problems.append(f"{where}: {exc}")
        return None
    return gdf


def check_pack(pack: Pack, *, check_data: bool = True) -> list[str]:
    """Return every problem of ``pack`` (an empty list means it is valid)."""
    problems = [*pack.problems, *shown_text_problems(pack)]
    fields: dict[str, set[str]] = {}
    classes: dict[str, set[str]] = {}
    for spec in pack.layers.values():
        where = f"catalog.toml layer {spec.id!r}"
        if not check_data:
            continue
        gdf = _read(pack, spec, problems)
        if gdf is None:
            continue
        if spec.id == pack.coverage_layer:
            problems.extend(coverage_problems(pack, gdf))
        problems.extend(area_layer_problems(spec, gdf))
        names = {str(c) for c in gdf.columns if c != gdf.geometry.name}
        fields[spec.id] = names
        its = f"is not a field of {spec.path} (its fields: {', '.join(sorted(names)) or 'none'})"
        for key, value in (("class_field", spec.class_field), ("name_field", spec.name_field)):
            if value and value not in names:
                fix = f"name one of them in `{key}`, or add the field to the file"
                problems.append(f"{where}: `{key}` {value!r} {its}; {fix}")
        for f in spec.publish_fields:
            if f not in names:
                fix = "add the field to the file, or take it out of `publish_fields`"
                problems.append(f"{where}: publish field {f!r} {its}; {fix}")
        if spec.class_field and spec.class_field in names:
            classes[spec.id] = set(class_texts(gdf[spec.class_field]).dropna())
            for cls in spec.constraint_classes:
                if cls not in classes[spec.id]:
                    problems.append(
                        f"{where}: constraint class {cls!r} does not occur in field "
                        f"{spec.class_field!r}; values are {', '.join(sorted(classes[spec.id]))}"
                        + _decimal_text_hint(cls, classes[spec.id])
                    )
    if pack.reference_layer is not None and pack.reference_layer not in pack.layers:
        problems.append(
            f"catalog.toml [pack]: reference_layer {pack.reference_layer!r} is not a layer; "
            f"known layers are {', '.join(sorted(pack.layers))}"
        )
    if pack.layers:  # with no layer read, every style and map reference would fail: noise
        _check_styles(pack, fields, classes, problems, check_data=check_data)
        _check_maps(pack, problems)
    return problems


def _check_styles(
    pack: Pack,
    fields: dict[str, set[str]],
    classes: dict[str, set[str]],
    problems: list[str],
    *,
    check_data: bool,
) -> None:
    for lid, style in pack.styles.items():
        where = f"styles/{style.source_file} [{lid}]"
        if lid not in pack.layers and lid not in ANALYSIS_OUTPUTS:
            problems.append(
                f"{where}: no catalog layer {lid!r}; fix the table name or add the layer"
            )
            continue
        known = fields.get(lid) or _ANALYSIS_FIELDS.get(lid)
        spec = pack.layers.get(lid)
        class_field = style.class_field or (spec.class_field if spec else None)
        if lid == "conflicts":
            class_field = style.class_field or "类别"
        if style.classes and not class_field:
            problems.append(
                f"{where}: has `classes` but neither the style nor the catalog names a "
                "`class_field`"
            )
        for key, value in (("class_field", style.class_field), ("label_field", style.label_field)):
            if value and known is not None and value not in known:
                problems.append(
                    f"{where}: `{key}` {value!r} is not a field of the layer (its fields: "
                    f"{', '.join(sorted(known)) or 'none'}); name one of them"
                )
        if check_data and lid in classes and class_field == (spec.class_field if spec else None):
            for cls in style.classes:
                if cls not in classes[lid]:
                    problems.append(
                        f"{where}: unknown style class {cls!r}; the layer's classes are "
                        f"{', '.join(sorted(classes[lid]))}" + _decimal_text_hint(cls, classes[lid])
                    )


def _decimal_text_hint(cls: str, values: set[str]) -> str:
    """Why a key "1.0" misses a text field holding "1.0": the key is the number's class, "1"."""
    texts = sorted(v for v in values if v != cls and class_key(v) == cls)
    if not texts:
        return ""
    return (
        f" (the field holds {texts[0]!r} as text, while a key spelling a decimal number is the "
        f"class of that number, {cls!r}: store the field as numbers, or its codes without '.0')"
    )


def _check_maps(pack: Pack, problems: list[str]) -> None:
    # an internal zone layer makes the analysis internal as an internal red line does
    internal_inputs = [s.id for s in pack.analysis_inputs() if not s.is_public]
    for m in pack.maps.values():
        for lid in m.layers:
            spec = pack.layers.get(lid)
            if spec is None:
                problems.append(
                    f"{m.source_file}: layer {lid!r} does not exist in the catalog; "
                    f"known layers are {', '.join(sorted(pack.layers))}"
                )
            elif m.sensitivity == "public" and not spec.is_public:
                problems.append(
                    f"{m.source_file}: public map shows internal layer {lid!r}; remove it or set "
                    '`audience = "internal"`'
                )
        if m.sensitivity == "public" and m.analysis and internal_inputs:
            problems.append(
                f"{m.source_file}: public map shows analysis outputs {list(m.analysis)} derived "
                f"from internal layer(s) {', '.join(internal_inputs)}; make the map internal"
            )


def unconstrained_warnings(pack: Pack) -> list[str]:
    """The warning of a pack without a constraint layer: every parcel would be available
    whole, without a word (as ``check`` warns for its sites)."""
    if pack.constraint_layers():
        return []
    return [
        f'{pack.catalog_path}: the pack has no constraint layer (role = "constraint" with '
        "`constraint` or `constraint_classes`), so no red line was checked and every "
        "parcel's available_m2 is its whole area; add the 生态保护红线, 永久基本农田 and "
        "城镇开发边界 layers to the pack"
    ]


def pack_warnings(pack: Pack) -> list[str]:
    """Warnings about how a valid pack's maps draw it: constraint classes and class values in
    the data a styled layer draws with no symbol of their own, map layers with no style.

    What bears on results (a ``planar_crs`` far from the data, long lon/lat edges, constraint
    features in no class) is said by loading the layers (:mod:`qzgeo.pack.load_warnings`), so
    that it travels with every result.
    """
    return (
        _unstyled_class_warnings(pack)
        + _unstyled_value_warnings(pack)
        + _unstyled_map_layer_warnings(pack)
    )


def _unstyled_class_warnings(pack: Pack) -> list[str]:
    """A constraint class missing from its layer's style ``classes`` is drawn as 「其他」."""
    out = []
    for spec in pack.constraint_layers():
        style = pack.styles.get(spec.id)
        if style is None or not style.classes:
            continue  # one symbol for the whole layer: every class is drawn alike, on purpose
        if (style.class_field or spec.class_field) != spec.class_field:
            continue
        for cls in spec.constraint_classes:
            if cls not in style.classes:
                out.append(
                    f"styles/{style.source_file} [{spec.id}]: constraint class {cls!r} has no "
                    f"symbol; maps draw it with the layer's default under 「其他 Other」; add "
                    f'[{spec.id}.classes."{cls}"] with its fill, stroke and legend'
                )
    return out


#: Values named in one warning about class values without a symbol; the count says the rest.
_UNSTYLED_SHOWN = 10


def _unstyled_value_warnings(pack: Pack) -> list[str]:
    """Class values in a layer's data that its style's ``classes`` miss (and that are not a
    constraint class, warned about above): the maps draw them under 「其他」, as one class."""
    out = []
    for spec in pack.layers.values():
        style = pack.styles.get(spec.id)
        field = (style.class_field or spec.class_field) if style is not None else None
        if style is None or not style.classes or not field:
            continue
        try:
            gdf = read_pack_layer(pack, spec)
        except QzgeoError:  # validation reports it
            continue
        if field not in gdf.columns:
            continue  # validation reports it
        values = {v for v in class_texts(gdf[field]) if v is not None}
        missing = sorted(values - set(style.classes) - set(spec.constraint_classes))
        if not missing:
            continue
        shown = ", ".join(repr(v) for v in missing[:_UNSTYLED_SHOWN])
        more = (
            f" and {len(missing) - _UNSTYLED_SHOWN} more" if len(missing) > _UNSTYLED_SHOWN else ""
        )
        out.append(
            f"styles/{style.source_file} [{spec.id}]: {len(missing)} value(s) of {field!r} in "
            f"the data have no symbol ({shown}{more}); maps draw them alike, with the layer's "
            f'default, under 「其他 Other」; add [{spec.id}.classes."VALUE"] tables for those '
            "that must be told apart"
        )
    return out


def _unstyled_map_layer_warnings(pack: Pack) -> list[str]:
    """A layer that maps show but no style names: one warning per layer, naming its maps."""
    shown: dict[str, list[str]] = {}
    for m in pack.maps.values():
        for lid in m.layers:
            if lid in pack.layers and lid not in pack.styles:
                shown.setdefault(lid, []).append(m.source_file or f"maps/{m.id}.toml")
    return [
        f"{', '.join(sorted(files))}: layer {lid!r} has no style; the maps draw it with the "
        f"default symbol (a dark grey line, no fill); add a [{lid}] table to a file in styles/"
        for lid, files in sorted(shown.items())
    ]


def validate_pack(pack: Pack, *, check_data: bool = True) -> None:
    """Raise :class:`~qzgeo._errors.PackError` listing every problem of ``pack``, if any.

    Examples
    --------
    >>> from qzgeo.pack.catalog import load_pack
    >>> validate_pack(load_pack())  # the bundled pack is valid
    """
    problems = check_pack(pack, check_data=check_data)
    if problems:
        raise PackError(problems)
