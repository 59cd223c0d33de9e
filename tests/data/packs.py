"""Pack fixtures for the outsider CLI tests: copies of tests/data/minipack edited at test time.

Only public interfaces are used: the ``qzgeo`` command (click ``CliRunner`` or a subprocess)
and the files it writes. Nothing here imports qzgeo internals, so the tests survive a
restructure of the package.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

MINIPACK = Path(__file__).parent / "minipack"
REPO = Path(__file__).resolve().parents[2]
SECRET_PW = "s3cret"
CLOSED_PORT_URI = f"postgresql://u:{SECRET_PW}@127.0.0.1:1/db?table=t"


def copy_minipack(dst: Path) -> Path:
    """A private copy of the minipack at ``dst``."""
    shutil.copytree(MINIPACK, dst)
    return dst


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        out = v.replace("\\", "\\\\").replace('"', '\\"')
        for ch in {c for c in out if ord(c) < 0x20 or ord(c) == 0x7F}:
            out = out.replace(ch, f"\\u{ord(ch):04x}")
        return f'"{out}"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_value(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    msg = f"cannot write {v!r} as TOML"
    raise TypeError(msg)


def dump_toml(doc: dict[str, Any]) -> str:
    """Enough TOML for catalogs and map files: top-level keys, tables, arrays of tables."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict | list)]
    lines += [
        f"{k} = {_toml_value(v)}"
        for k, v in doc.items()
        if isinstance(v, list) and not (v and isinstance(v[0], dict))
    ]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines.append(f"\n[{k}]")
            lines += [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items()]
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                lines.append(f"\n[[{k}]]")
                lines += [f"{kk} = {_toml_value(vv)}" for kk, vv in item.items()]
    return "\n".join(lines) + "\n"


def read_catalog(pack: Path) -> dict[str, Any]:
    with (pack / "layers" / "catalog.toml").open("rb") as fh:
        return tomllib.load(fh)


def edit_catalog(pack: Path, fn: Callable[[dict[str, Any]], None]) -> None:
    """Load ``layers/catalog.toml``, let ``fn`` change the dict in place, write it back."""
    doc = read_catalog(pack)
    fn(doc)
    (pack / "layers" / "catalog.toml").write_text(dump_toml(doc), encoding="utf-8")


def layer(doc: dict[str, Any], lid: str) -> dict[str, Any]:
    """The ``[[layers]]`` entry ``lid`` of a catalog dict."""
    return next(x for x in doc["layers"] if x["id"] == lid)


def write_map(pack: Path, mid: str, **keys: Any) -> Path:
    path = pack / "maps" / f"{mid}.toml"
    path.write_text(dump_toml(keys), encoding="utf-8")
    return path


def run_cli(*args: str | os.PathLike[str], env: dict[str, str] | None = None) -> Result:
    """``qzgeo ARGS`` in-process; stdout and stderr apart (``result.stdout/.stderr``)."""
    from qzgeo.cli.main import cli

    runner = CliRunner()
    return runner.invoke(cli, [str(a) for a in args], env=env, catch_exceptions=True)


def spawn_cli(*args: str | os.PathLike[str], cwd: Path | None = None) -> subprocess.Popen[str]:
    """``qzgeo ARGS`` in a separate process (for concurrency tests)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    code = "from qzgeo.cli.main import cli; cli()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *[str(a) for a in args]],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def all_output(result: Result) -> str:
    """Everything the command printed, plus the exception text if it crashed."""
    text = result.output + (result.stderr if result.stderr not in result.output else "")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        text += f"\nEXCEPTION {type(result.exception).__name__}: {result.exception}"
    return text


def assert_no_traceback(result: Result) -> None:
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), f"crashed: {exc!r}\n{result.output}"
    assert "Traceback" not in result.output


def tree_digest(root: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under ``root`` (symlinks as their target text)."""
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def bytes_under(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in files_under(root)}


def grep_tree(root: Path, needle: str | bytes) -> list[Path]:
    """Files under ``root`` whose bytes contain ``needle`` (str is searched as UTF-8)."""
    nb = needle.encode() if isinstance(needle, str) else needle
    return [p for p, data in bytes_under(root).items() if nb in data]


def minipack_site(path: Path) -> Path:
    """A GeoJSON of one 200 m site (名称 试验地块) inside the minipack, in GK zone 36."""
    import geopandas as gpd
    from shapely.geometry import box

    x0, y0 = 36_564_000.0, 2_399_000.0
    gdf = gpd.GeoDataFrame(
        {"名称": ["试验地块"]},
        geometry=[box(x0 + 100, y0 + 100, x0 + 300, y0 + 300)],
        crs="EPSG:4524",
    )
    gdf.to_file(path, driver="GeoJSON")
    return path


def new_pack(folder: Path, center: str) -> Path:
    """``qzgeo new-pack FOLDER --center LON,LAT``, as a pack author starts one."""
    from qzgeo.cli.main import cli

    res = CliRunner().invoke(cli, ["new-pack", str(folder), "--center", center])
    assert res.exit_code == 0, res.output
    return folder
