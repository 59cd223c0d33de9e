"""Every problem of a pack's suitability models at once, for ``qzgeo validate``."""

from __future__ import annotations

from qzgeo._errors import PackError
from qzgeo.analysis.suitability.model import list_models, read_model
from qzgeo.pack.model import Pack

__all__ = ["model_problems"]


def model_problems(pack: Pack) -> list[str]:
    """Every problem of every model of ``pack`` (:func:`read_model`'s): a model's mistakes
    were found only when ``qzgeo suitability`` ran it."""
    problems: list[str] = []
    if not pack.layers:  # the catalog gave no layer (a TOML error, said): every id would fail
        return problems
    for name in list_models(pack):
        try:
            read_model(pack, name)
        except PackError as exc:
            problems.extend(exc.problems)
    return problems
