"""qzgeo: plan packs, exact overlay analysis, siting checks and offline maps for any city.

The engine is city-agnostic: a city is a *plan pack* (``layers/catalog.toml``, ``styles/``,
``maps/``), chosen by ``--pack``, ``$QZGEO_PACK`` or ``qzgeo.toml``; the bundled pack is at
:func:`get_path`.

Examples
--------
>>> import qzgeo
>>> pack = qzgeo.load_pack()
>>> sorted(pack.maps)[:2]
['canal', 'conflicts']
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from qzgeo.pack.catalog import get_path, load_pack

try:
    __version__ = version("qzgeo")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__", "get_path", "load_pack"]
