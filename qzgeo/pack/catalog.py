"""Plan packs: the catalog, styles and map products of one city, as data.

A pack is a folder with three parts::

    layers/catalog.toml   one [[layers]] entry per layer, plus [pack] and [params]
    styles/*.toml         symbology per layer and per class
    maps/*.toml           one map product per file

Reading a pack never raises for a *semantic* problem (an unknown role, a missing file...): those
are collected in :attr:`Pack.problems` and reported all at once by
:func:`qzgeo.pack.validate.validate_pack`; even an unreadable TOML file is listed there.

Catalog keys of a layer
-----------------------
``id`` (required, ``[a-z0-9_]``), ``title`` (Chinese), ``title_en``, ``role`` (zone, constraint,
corridor or base), ``path`` (relative to ``layers/``, or a ``postgresql://`` URI), ``layer``
(inside a GeoPackage), ``crs`` (used only if the file has none), ``datum`` (``"gcj02"`` to convert
AMap-style coordinates on load), ``sensitivity`` (public or internal), ``class_field``,
``name_field``, ``publish_fields``, ``source``, ``licence``, ``precision``, and the constraint
semantics: ``constraint`` (``"exclusion"`` or ``"boundary"`` for every class of the layer)
and/or ``[layers.constraint_classes]`` mapping a class value to a mode. An *exclusion* takes
its area away from the zones; a *boundary* makes whatever lies outside it the conflict.
"""

from __future__ import annotations

import os
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from qzgeo._errors import PackError
from qzgeo.io.paths import read_text_file, refuse_undecodable
from qzgeo.pack.catalog_types import (
    PACK_STR_KEYS,
    check_coverage_layer,
    check_crs,
    check_pack_name,
    did_you_mean,
    opt_choice,
    opt_str,
    parse_extent,
    parse_params,
    symbol_values,
    unknown_key_problems,
)
from qzgeo.pack.class_values import class_table
from qzgeo.pack.confine import map_id_problems, path_problems, read_toml, text_cap_problems
from qzgeo.pack.model import (
    ANALYSIS_OUTPUTS,
    BASEMAPS,
    CONSTRAINT_MODES,
    ORIENTATIONS,
    PAPERS,
    PRECISIONS,
    ROLES,
    SENSITIVITIES,
    SYMBOL_KEYS,
    DistanceSpec,
    LayerSpec,
    LayerStyle,
    MapSpec,
    Pack,
    Symbol,
    pack_tomls,
)

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


#: Environment variable naming the pack folder every command uses without ``--pack``.
PACK_ENV = "QZGEO_PACK"
#: A file in the working folder with ``pack = "path/to/pack"`` (relative to the file).
CONFIG_FILE = "qzgeo.toml"


def _bundled_root() -> Path:
    installed = Path(str(resources.files("qzgeo"))) / "_pack"
    if (installed / "layers" / "catalog.toml").is_file():
        return installed
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "layers" / "catalog.toml").is_file():
        return checkout
    msg = "the bundled plan pack is missing from this installation; reinstall qzgeo"
    raise FileNotFoundError(msg)


def pack_name_of(root: Path) -> str:
    """The ``[pack] name`` of the catalog in ``root`` (the folder name if it has none)."""
    catalog = root / "layers" / "catalog.toml"
    try:
        head = tomllib.loads(read_text_file(catalog)).get("pack", {})
    except (OSError, tomllib.TOMLDecodeError):
        return root.name
    name = head.get("name") if isinstance(head, dict) else None
    return str(name) if name else root.name


def get_path(name: str | None = None) -> Path:
    """Return the folder of the bundled plan pack (``name``, if given, must be its name).

    The bundled pack is the repository's own ``layers/``, ``styles/`` and ``maps/``; an
    installed wheel carries a copy under ``qzgeo/_pack``. Its name is its catalog's
    ``[pack] name``.

    Examples
    --------
    >>> (get_path() / "layers" / "catalog.toml").is_file()
    True
    """
    root = _bundled_root()
    if name is not None and name != (bundled := pack_name_of(root)):
        msg = f"no bundled plan pack named {name!r}; the bundled pack is {bundled!r}"
        raise ValueError(msg)
    return root


def resolve_pack_dir(root: str | Path | None = None) -> tuple[Path, str]:
    """The pack folder a command uses, and what chose it.

    In order: ``root`` (``--pack``); the environment variable ``QZGEO_PACK``; a ``qzgeo.toml``
    in the working folder with ``pack = "DIR"`` (relative to that file); the bundled pack.
    """
    if root is not None:
        return _utf8_root(Path(root), "--pack")
    env = os.environ.get(PACK_ENV, "").strip()
    if env:
        return _utf8_root(Path(env).expanduser(), f"${PACK_ENV}")
    config = Path.cwd() / CONFIG_FILE
    if config.is_file():
        problems: list[str] = []
        data = read_toml(config, problems)
        if data is None:
            raise PackError(problems)
        value = data.get("pack")
        if not isinstance(value, str) or not value.strip():
            msg = f'{config}: expected `pack = "path/to/pack"` (a folder), got {value!r}'
            raise PackError([msg])
        return _utf8_root(config.parent / Path(value).expanduser(), str(config))
    return get_path(), "bundled"


def _utf8_root(root: Path, how: str) -> tuple[Path, str]:
    """``(root, how)``, once GDAL can be given paths under ``root`` (see refuse_undecodable)."""
    refuse_undecodable(root, what=f"plan pack folder (chosen by {how})")
    return root, how


def _str_tuple(value: Any, where: str, key: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    problems.append(f"{where}: `{key}` must be a list of strings, got {value!r}")
    return ()


_LAYER_KEYS = frozenset(
    {
        "id",
        "title",
        "title_en",
        "role",
        "path",
        "layer",
        "crs",
        "datum",
        "sensitivity",
        "class_field",
        "name_field",
        "publish_fields",
        "constraint",
        "constraint_classes",
        "source",
        "licence",
        "precision",
    }
)


_OPTIONAL_STR_KEYS = ("title_en", "layer", "crs", "class_field", "name_field")


def _parse_layer(raw: dict[str, Any], where: str, problems: list[str]) -> LayerSpec | None:
    lid = raw.get("id")
    if not isinstance(lid, str) or not _ID_RE.match(lid):
        problems.append(
            f"{where}: `id` must be a lower-case identifier like 'port_zones', got {lid!r}"
        )
        return None
    where = f"{where} (id={lid!r})"
    for key in sorted(set(raw) - _LAYER_KEYS):
        hint = did_you_mean(key, {k: k for k in _LAYER_KEYS})
        known = ", ".join(sorted(_LAYER_KEYS))
        problems.append(f"{where}: unknown key `{key}`{hint}; known keys are {known}")
    role = raw.get("role")
    if role not in ROLES:
        problems.append(f"{where}: unknown role {role!r}; use one of {', '.join(ROLES)}")
    sens = raw.get("sensitivity")
    if sens not in SENSITIVITIES:
        problems.append(f"{where}: `sensitivity` must be 'public' or 'internal', got {sens!r}")
    path = raw.get("path")
    if not isinstance(path, str) or not path:
        problems.append(f"{where}: `path` is missing; give the data file relative to layers/")
        path = ""
    for key in ("title", "source", "licence", "precision"):
        if key in raw and not isinstance(raw[key], str):  # not "missing": it is there
            shown = f'in quotes, e.g. {key} = "..."'
            problems.append(f"{where}: `{key}` must be a string ({shown}), got {raw[key]!r}")
        elif not raw.get(key):
            problems.append(f"{where}: `{key}` is missing; every layer states it")
    problems.extend(text_cap_problems(raw, where))
    precision = raw.get("precision", "")
    if precision and precision not in PRECISIONS:
        problems.append(
            f"{where}: `precision` {precision!r} is unknown; use one of {', '.join(PRECISIONS)}"
        )
    datum = raw.get("datum")
    if datum not in (None, "gcj02", "cgcs2000", "wgs84"):
        problems.append(f"{where}: `datum` must be 'gcj02', 'cgcs2000' or 'wgs84', got {datum!r}")
    constraint = raw.get("constraint")
    if constraint is not None and constraint not in CONSTRAINT_MODES:
        problems.append(
            f"{where}: `constraint` must be 'exclusion' or 'boundary', got {constraint!r}"
        )
    classes = class_table(raw.get("constraint_classes"), f"{where}: `constraint_classes`", problems)
    for cls, mode in classes.items():
        if mode not in CONSTRAINT_MODES:
            problems.append(
                f"{where}: constraint class {cls!r} has mode {mode!r}; "
                "use 'exclusion' or 'boundary'"
            )
    if classes and not raw.get("class_field"):
        problems.append(f"{where}: `constraint_classes` needs a `class_field` to read classes from")
    if role == "constraint" and constraint is None and not classes:
        problems.append(
            f"{where}: a constraint layer must declare `constraint` or `constraint_classes`"
        )
    opt = {k: opt_str(raw, k, where, problems) for k in _OPTIONAL_STR_KEYS}
    return LayerSpec(
        id=lid,
        title=str(raw.get("title", lid)),
        title_en=opt["title_en"],
        role=str(role),
        path=path,
        layer=opt["layer"],
        crs=check_crs(opt["crs"], where, "crs", problems),
        datum=datum,
        # An unknown value is a recorded problem; meanwhile the layer is treated as internal.
        sensitivity=sens if sens in SENSITIVITIES else "internal",
        class_field=opt["class_field"],
        name_field=opt["name_field"],
        publish_fields=_str_tuple(raw.get("publish_fields"), where, "publish_fields", problems),
        constraint=constraint,
        constraint_classes={k: str(v) for k, v in classes.items()},
        source=str(raw.get("source", "")),
        licence=str(raw.get("licence", "")),
        precision=str(precision),
    )


def _parse_symbol(raw: dict[str, Any], where: str, problems: list[str]) -> Symbol:
    known = symbol_values({k: v for k, v in raw.items() if k in SYMBOL_KEYS}, where, problems)
    if known.get("pattern") not in (None, "stripe"):
        problems.append(f"{where}: `pattern` must be 'stripe', got {known['pattern']!r}")
    try:
        return Symbol(**known)
    except TypeError as exc:  # pragma: no cover - guarded by SYMBOL_KEYS
        problems.append(f"{where}: {exc}")
        return Symbol()


_STYLE_KEYS = frozenset({"classes", "class_field", "label_field", "legend_title"})


def _parse_styles(root: Path, problems: list[str]) -> dict[str, LayerStyle]:
    styles: dict[str, LayerStyle] = {}
    for path in pack_tomls(root / "styles"):
        data = read_toml(path, problems, root=root)
        if data is None:
            continue
        for lid, raw in data.items():
            where = f"styles/{path.name} [{lid}]"
            if not isinstance(raw, dict):
                problems.append(f"{where}: must be a table of symbol keys")
                continue
            if lid in styles:
                problems.append(
                    f"{where}: layer {lid!r} is styled twice "
                    f"(also in {styles[lid].source_file}); keep one"
                )
            unknown = set(raw) - SYMBOL_KEYS - _STYLE_KEYS
            for key in sorted(unknown):
                problems.append(
                    f"{where}: unknown style key `{key}`; symbol keys are "
                    f"{', '.join(sorted(SYMBOL_KEYS))}"
                )
            default = _parse_symbol(raw, where, problems)
            classes: dict[str, Symbol] = {}
            for cls, craw in class_table(
                raw.get("classes"), f"{where} `classes`", problems
            ).items():
                # the layer's keys as parsed for its default: a wrong one is said once
                merged = {k: v for k, v in vars(default).items() if k in raw and k != "legend"}
                if isinstance(craw, dict):
                    for key in sorted(set(craw) - SYMBOL_KEYS):
                        problems.append(f"{where} class {cls!r}: unknown symbol key `{key}`")
                    merged.update(craw)
                classes[cls] = _parse_symbol(merged, f"{where} class {cls!r}", problems)
            styles[lid] = LayerStyle(
                layer_id=lid,
                default=default,
                classes=classes,
                class_field=opt_str(raw, "class_field", where, problems),
                label_field=opt_str(raw, "label_field", where, problems),
                legend_title=opt_str(raw, "legend_title", where, problems),
                source_file=path.name,
            )
    return styles


_MAP_KEYS = frozenset(
    {
        *("title", "title_en", "audience", "layers", "analysis", "basemap", "basemaps"),
        *("description", "paper", "orientation"),
    }
)


def _parse_maps(root: Path, problems: list[str]) -> dict[str, MapSpec]:
    maps: dict[str, MapSpec] = {}
    for path in pack_tomls(root / "maps"):
        data = read_toml(path, problems, root=root)
        if data is None:
            continue
        where = f"maps/{path.name}"
        for key in sorted(set(data) - _MAP_KEYS):
            problems.append(f"{where}: unknown key `{key}`; known keys are {sorted(_MAP_KEYS)}")
        audience = data.get("audience")
        if audience not in SENSITIVITIES:
            problems.append(f"{where}: `audience` must be 'public' or 'internal', got {audience!r}")
        if not data.get("title"):
            problems.append(f"{where}: `title` is missing")
        problems.extend(text_cap_problems(data, where))
        problems.extend(map_id_problems(path.stem, where, maps))
        basemap = data.get("basemap", "none")  # see MapSpec.basemap
        basemaps = _str_tuple(data.get("basemaps"), where, "basemaps", problems)
        for b in (basemap, *basemaps):
            if b not in BASEMAPS:
                problems.append(f"{where}: unknown basemap {b!r}; use one of {', '.join(BASEMAPS)}")
        analysis = _str_tuple(data.get("analysis"), where, "analysis", problems)
        for a in analysis:
            if a not in ANALYSIS_OUTPUTS:
                problems.append(
                    f"{where}: unknown analysis output {a!r}; use {', '.join(ANALYSIS_OUTPUTS)}"
                )
        layers = _str_tuple(data.get("layers"), where, "layers", problems)
        # any case, as the CLI's --paper a4: the canonical spelling is kept
        paper = opt_choice(data, "paper", PAPERS, where, problems)
        orientation = opt_choice(data, "orientation", ORIENTATIONS, where, problems)
        if not layers and not analysis:
            problems.append(f"{where}: `layers` is empty; name at least one catalog layer")
        maps[path.stem] = MapSpec(
            id=path.stem,
            title=opt_str(data, "title", where, problems) or path.stem,
            title_en=opt_str(data, "title_en", where, problems),
            sensitivity=audience if audience in SENSITIVITIES else "internal",
            layers=layers,
            analysis=analysis,
            basemap=str(basemap),
            basemaps=basemaps,
            description=opt_str(data, "description", where, problems) or "",
            source_file=where,
            paper=paper,
            orientation=orientation,
        )
    return maps


_DISTANCE_KEYS = frozenset({"layer", "label", "label_en"})


def _parse_distances(
    raw: Any, layers: dict[str, LayerSpec], problems: list[str]
) -> tuple[DistanceSpec, ...]:
    """``[[distances]]``: the layers a site report measures distances to, with their labels."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        problems.append("catalog.toml: `distances` must be [[distances]] tables")
        return ()
    out = []
    for i, entry in enumerate(raw):
        where = f"catalog.toml [[distances]] #{i + 1}"
        for key in sorted(set(entry) - _DISTANCE_KEYS):
            problems.append(f"{where}: unknown key `{key}`; known keys are layer, label, label_en")
        layer, label, label_en = entry.get("layer"), entry.get("label"), entry.get("label_en", "")
        if not isinstance(layer, str) or layer not in layers:
            problems.append(
                f"{where}: `layer` {layer!r} is not a layer id; known layers are "
                f"{', '.join(sorted(layers))}"
            )
            continue
        if label is not None and not isinstance(label, str):  # there, but not text
            example = f'in quotes, e.g. label = "距{layers[layer].title}"'
            problems.append(f"{where}: `label` must be a string ({example}), got {label!r}")
            continue
        if not isinstance(label, str) or not label.strip():
            problems.append(f'{where}: `label` is missing; e.g. label = "距{layers[layer].title}"')
            continue
        if not isinstance(label_en, str):
            problems.append(f"{where}: `label_en` must be a string, got {label_en!r}")
            label_en = ""
        out.append(DistanceSpec(layer, label, label_en))
    return tuple(out)


def load_pack(root: str | Path | None = None) -> Pack:
    """Read a plan pack folder (default: see :func:`resolve_pack_dir`; else the bundled pack).

    Semantic problems are collected in ``Pack.problems``; call
    :func:`qzgeo.pack.validate.validate_pack` to check the data and raise them all at once.

    Examples
    --------
    >>> pack = load_pack()
    >>> len(pack.layers) > 0 and pack.name == pack.name.lower()
    True
    """
    root, selected_by = resolve_pack_dir(root)
    problems: list[str] = []
    if not root.is_dir():
        msg = (
            f"plan pack folder {root} (chosen by {selected_by}) does not exist; pass --pack DIR "
            "with layers/, styles/, maps/"
        )
        raise PackError([msg])
    catalog_path = root / "layers" / "catalog.toml"
    if not catalog_path.exists():
        msg = f"{catalog_path} is missing; a pack needs layers/catalog.toml"
        raise PackError([msg])
    parsed = read_toml(catalog_path, problems, root=root)
    catalog = parsed or {}
    unknown_key_problems(catalog, problems)
    head = catalog.get("pack", {})
    if not isinstance(head, dict):
        problems.append("catalog.toml: [pack] must be a table")
        head = {}
    layers: dict[str, LayerSpec] = {}
    raw_layers = catalog.get("layers", [])
    if not isinstance(raw_layers, list) or not raw_layers:
        if parsed is not None:  # a syntax error is the one problem, not "no layers" too
            problems.append("catalog.toml: no [[layers]] entries; add one per layer")
        raw_layers = []
    for i, raw in enumerate(raw_layers):
        spec = _parse_layer(raw, f"catalog.toml [[layers]] #{i + 1}", problems)
        if spec is None:
            continue
        if spec.id in layers:
            problems.append(f"catalog.toml: layer id {spec.id!r} is used twice; ids must be unique")
        layers[spec.id] = spec
        problems.extend(path_problems(root, spec))
    extent = parse_extent(head.get("extent"), problems)
    if not (root / "styles").is_dir():
        problems.append(f"{root / 'styles'} is missing; a pack needs a styles/ folder")
    if not (root / "maps").is_dir():
        problems.append(f"{root / 'maps'} is missing; a pack needs a maps/ folder")
    where = "catalog.toml [pack]"
    text = {k: opt_str(head, k, where, problems) for k in PACK_STR_KEYS}
    pack = Pack(
        root=root.resolve(),
        name=check_pack_name(text["name"] or root.name, where, problems),
        title=text["title"] or root.name,
        layers=layers,
        styles=_parse_styles(root, problems),
        maps=_parse_maps(root, problems),
        storage_crs=check_crs(
            text["storage_crs"], where, "storage_crs", problems, kind="geographic"
        )
        or "EPSG:4490",
        planar_crs=check_crs(text["planar_crs"], where, "planar_crs", problems, kind="projected"),
        extent=extent,
        coverage_layer=check_coverage_layer(
            text["coverage_layer"], layers, extent, problems, extent_given="extent" in head
        ),
        notice=text["notice"] or "",
        attribution=text["attribution"] or "",
        tianditu_key=text["tianditu_key"] or None,
        reference_layer=text["reference_layer"] or None,
        params=parse_params(catalog.get("params"), problems),
        distances=_parse_distances(catalog.get("distances"), layers, problems),
        selected_by=selected_by,
        problems=problems,
        organisation_name=text["organisation"] or None,
    )
    return pack
