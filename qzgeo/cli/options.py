"""Options shared by several commands (the registry, as in rasterio's ``rio``).

Values are checked once, here, at the CLI boundary: a bad ``--crs`` or ``--encoding`` is a
usage error (exit 2) naming the option, the value and the fix, before any file is read.
"""

from __future__ import annotations

import codecs
import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from qzgeo.io.guard import ReadCaps, read_caps


def _announce_pack(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """Print which pack the command uses (and what chose it) on stderr."""
    if ctx.params.get("no_pack") or ctx.resilient_parsing:
        return value
    from qzgeo.pack.catalog import pack_name_of, resolve_pack_dir

    root, how = resolve_pack_dir(value)
    click.echo(f"pack: {pack_name_of(root)} ({root}; from {how})", err=True)
    return value


pack_opt = click.option(
    "--pack",
    "pack_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    callback=_announce_pack,
    help=(
        "Plan pack folder (layers/, styles/, maps/). Default: $QZGEO_PACK, else `pack = ...` "
        "in ./qzgeo.toml, else the bundled pack."
    ),
)

out_opt = click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder. Default: ./qzgeo-out (created if needed).",
)

overwrite_opt = click.option(
    "--overwrite",
    is_flag=True,
    default=False,
    help=(
        "Replace OUT when it exists (as ogr2ogr -overwrite); without it an existing file OUT is "
        "refused. A symbolic link or a folder at OUT is refused even so."
    ),
)

public_opt = click.option(
    "--public",
    "public",
    is_flag=True,
    help="Write the results to OUT/public/, the folder to post, with every attribute column "
    "of the input (owners' names, ID numbers...: remove those first). Only when every pack "
    "layer they derive from is public (else exit 2 naming it). Default: OUT/internal/.",
)


class CRSParam(click.ParamType):
    """A CRS PROJ knows (``EPSG:4527``, WKT, a PROJ string); the value stays a string."""

    name = "crs"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            CRS.from_user_input(value)
        except CRSError as exc:
            self.fail(
                f"{value!r} is not a CRS PROJ knows ({exc}); use an EPSG code such as "
                "EPSG:4490 (CGCS2000 lon/lat) or the CGCS2000 3-degree GK zone of the data",
                param,
                ctx,
            )
        return str(value)


class EncodingParam(click.ParamType):
    """A text encoding Python knows (``gbk``, ``utf-8``, ``utf-16``, ``big5``...)."""

    name = "encoding"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            codecs.lookup(str(value))
        except LookupError:
            self.fail(
                f"{value!r} is not a known text encoding; use e.g. gbk, utf-8 or utf-16",
                param,
                ctx,
            )
        return str(value)


class Towgs84Param(click.ParamType):
    """Seven comma-separated numbers: dx, dy, dz (m), rx, ry, rz (arc-seconds), ds (ppm)."""

    name = "towgs84"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[float, ...]:
        if isinstance(value, tuple):
            return value
        parts = [p.strip() for p in str(value).split(",")]
        try:
            numbers = tuple(float(p) for p in parts)
        except ValueError:
            numbers = ()
        if len(numbers) != 7 or not all(math.isfinite(v) for v in numbers):
            self.fail(
                f"{value!r} is not 7 numbers; give DX,DY,DZ,RX,RY,RZ,DS as your survey bureau "
                "publishes them, e.g. --towgs84 24.5,-126.3,-62.1,0.5,-1.2,0.8,3.1",
                param,
                ctx,
            )
        return numbers


CRS = CRSParam()

crs_opt = click.option(
    "--crs",
    "crs",
    type=CRS,
    default=None,
    help="CRS of inputs that lack one, e.g. EPSG:4490 or a GK zone. Never guessed.",
)

from_gcj02_opt = click.option(
    "--from-gcj02",
    is_flag=True,
    default=False,
    help="Inputs are GCJ-02 (AMap) lon/lat: convert them to WGS84/CGCS2000 on load.",
)

_READING = (
    click.option(
        "--encoding",
        type=EncodingParam(),
        default=None,
        help="Text encoding of a Shapefile DBF or a 界址点 .txt (default: .cpg, else a BOM, "
        "else UTF-8, else GBK), of a CSV or GeoJSON (default UTF-8), or of a DXF R12-R2004 "
        "(default its $DWGCODEPAGE; GBK names under another code page are read as GBK), or of "
        "a MapInfo .tab/.mif (default its Charset; given, it overrides the Charset).",
    ),
    click.option(
        "--swap-xy/--no-swap-xy",
        default=None,
        help="X holds northings (Chinese survey order): exchange X and Y (界址点 .txt: default "
        "decided from the magnitudes; other files: not swapped unless given).",
    ),
    click.option(
        "--max-bytes",
        type=click.IntRange(min=1),
        default=None,
        help="Size cap for text inputs in bytes (default 512 MB or $QZGEO_MAX_BYTES).",
    ),
    click.option(
        "--assume-datum-shift-negligible",
        "assume_datum_shift_negligible",
        is_flag=True,
        default=False,
        help="Read Xian 1980 / Beijing 1954 data as if they were CGCS2000 (errors of tens of "
        "metres; said in the result). Without it (or --towgs84) such data are refused.",
    ),
    click.option(
        "--towgs84",
        type=Towgs84Param(),
        default=None,
        metavar="DX,DY,DZ,RX,RY,RZ,DS",
        help="7-parameter transformation of Xian 1980 / Beijing 1954 data to WGS84/CGCS2000 "
        "(metres, arc-seconds, ppm; PROJ +towgs84 position-vector convention).",
    ),
)


def reading_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Add the shared reading options; the command gets them as ``read_options``.

    ``read_options`` is a :class:`qzgeo.io.vector.ReadOptions` (encoding, X/Y order, size cap,
    datum assumption), passed unchanged to the pipeline and the readers.
    """

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from qzgeo.io.vector import ReadOptions

        kwargs["read_options"] = ReadOptions(
            encoding=kwargs.pop("encoding"),
            swap_xy=kwargs.pop("swap_xy"),
            max_bytes=kwargs.pop("max_bytes"),
            assume_datum_shift_negligible=kwargs.pop("assume_datum_shift_negligible"),
            towgs84=kwargs.pop("towgs84"),
        )
        return f(*args, **kwargs)

    command: Callable[..., Any] = wrapper
    for opt in reversed(_READING):
        command = opt(command)
    return command


DEFAULT_OUT = Path("qzgeo-out")


def resolve_out(out_dir: Path | None) -> Path:
    """Output folder chosen by the user, or the default."""
    return out_dir if out_dir is not None else DEFAULT_OUT


# --- caps on what a read may hold (issue 10) ------------------------------------------------

max_vertices_opt = click.option(
    "--max-vertices",
    "max_vertices",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Refuse a feature with more than N vertices (default 1,000,000).",
)

max_features_opt = click.option(
    "--max-features",
    "max_features",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help=(
        "Refuse a layer with more than N features (default 5,000,000; a parcel file that "
        "analyze reads in chunks is capped only when N is given)."
    ),
)


def read_caps_from(max_vertices: int | None, max_features: int | None) -> ReadCaps:
    """The :class:`~qzgeo.io.guard.ReadCaps` of ``--max-vertices`` / ``--max-features``."""
    caps = ReadCaps()
    return ReadCaps(
        max_vertices=max_vertices or caps.max_vertices,
        max_features=max_features or caps.max_features,
        features_given=max_features is not None,
    )


def caps_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--max-vertices`` and ``--max-features`` and apply them to every read of the
    command (for commands that do not pass caps to the pipeline): a refusal names them."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        caps = read_caps_from(kwargs.pop("max_vertices"), kwargs.pop("max_features"))
        with read_caps(caps):
            return f(*args, **kwargs)

    return max_vertices_opt(max_features_opt(wrapper))


def printable(text: object) -> str:
    """``text`` safe for a terminal: control characters (ESC, BEL, CSI...) shown escaped."""
    return "".join(
        c if c in "\n\t" or not (ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0) else repr(c)[1:-1]
        for c in str(text)
    )
