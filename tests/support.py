"""Test support in one place: paths of the repository, its test data and the small packs.

Importable from every test (``pythonpath = ["tests"]`` in pyproject.toml), like momepy's
``get_path()``: ``from support import get_path; get_path("minipack")``.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
DATA = TESTS / "data"
MINIPACK = DATA / "minipack"
BADINPUTS = TESTS / "badinputs" / "data"


def get_path(name: str) -> Path:
    """Path of a named test dataset under ``tests/data`` (e.g. ``"minipack"``).

    >>> get_path("minipack").name
    'minipack'
    """
    path = DATA / name
    if not path.exists():
        known = sorted(p.name for p in DATA.iterdir() if not p.name.startswith((".", "_")))
        msg = f"no test dataset {name!r} under {DATA}; known: {', '.join(known)}"
        raise FileNotFoundError(msg)
    return path


def die_in_worker(result):  # type: ignore[no-untyped-def]
    """A ``rename`` for chunk_pool tests: kills the worker process that calls it (as the
    kernel's OOM killer would)."""
    import os

    os._exit(3)
