"""qzgeo: plan packs, exact overlay analysis, siting checks and offline maps for any city.

The engine is city-agnostic: a city is a *plan pack* (``layers/catalog.toml``, ``styles/``,
``maps/``), chosen by ``--pack``, ``$QZGEO_PACK`` or ``qzgeo.toml``; the bundled pack is at
:func:`get_path`.

Examples
--------
>>> import qzgeo
>>> pack = qzgeo.load_pack()
>>> len(pack.maps) > 0 and all(m.title for m in pack.maps.values())
True
"""

# typing.TYPE_CHECKING without importing typing: this package is imported before the command
# line holds Ctrl-C back (qzgeo.cli.entry), and typing took ~3 ms of that window (mypy takes
# any name TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from qzgeo.pack.catalog import get_path, load_pack


def __getattr__(name: str) -> "Any":
    # get_path and load_pack on demand too: the command line imports this package first, and
    # the catalog's imports (~0.2 s) ran before its Ctrl-C handling (a traceback, not one line).
    if name in ("get_path", "load_pack"):
        from qzgeo.pack import catalog

        return getattr(catalog, name)
    # __version__ on demand: importlib.metadata costs ~40 ms of every command's start.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("qzgeo")
        except PackageNotFoundError:  # pragma: no cover - source tree without install
            return "0.0.0"
    msg = f"module 'qzgeo' has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = ["__version__", "get_path", "load_pack"]
