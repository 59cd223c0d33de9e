"""The numpydoc examples in qzgeo's docstrings run and pass."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import qzgeo

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(qzgeo.__path__, prefix="qzgeo.")
    if ".cli." not in m.name and not m.name.startswith("qzgeo._pack")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
