"""How graded factors combine: weighted sum, the 木桶 short-board rule, hard limits, classes.

Result codes: 0 = not assessed (outside the study area, or a factor without a value there),
1..n = the model's result classes, lowest (不适宜) first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from qzgeo.analysis.suitability.grid import BoolArray

GradeArray = npt.NDArray[np.uint8]
ScoreArray = npt.NDArray[np.float64]


def weighted_score(grades: Mapping[str, GradeArray], weights: Mapping[str, float]) -> ScoreArray:
    """Weighted mean of the factor grades (weights normalised to sum 1); NaN where any is 0.

    Examples
    --------
    >>> g = {"a": np.array([5, 1, 0], np.uint8), "b": np.array([3, 3, 3], np.uint8)}
    >>> weighted_score(g, {"a": 1.0, "b": 3.0}).tolist()
    [3.5, 2.5, nan]
    """
    total = float(sum(weights[k] for k in grades))
    first = next(iter(grades.values()))
    score = np.zeros(first.shape, dtype=np.float64)
    valid = np.ones(first.shape, dtype=bool)
    for k, g in grades.items():
        score += (weights[k] / total) * g
        valid &= g > 0
    score = np.round(score, 9)  # 0.3 * 5 + 0.7 * 2.5 must be 3.5 exactly, not 3.4999...
    score[~valid] = np.nan
    return score


def short_board(
    score: ScoreArray, grades: Mapping[str, GradeArray], ids: Sequence[str], cap_grade: int
) -> ScoreArray:
    """木桶 rule: where a listed factor is at grade <= ``cap_grade``, the score is capped there.

    Examples
    --------
    >>> s = np.array([4.5, 4.5])
    >>> short_board(s, {"slope": np.array([1, 3], np.uint8)}, ["slope"], 1).tolist()
    [1.0, 4.5]
    """
    out = score.copy()
    for k in ids:
        if k not in grades:
            continue
        g = grades[k]
        low = (g > 0) & (g <= cap_grade)
        out[low] = np.minimum(out[low], g[low].astype(np.float64))
    return out


def classify(score: ScoreArray, breaks: Sequence[float]) -> GradeArray:
    """Class codes 1..len(breaks)+1: ``score < breaks[0]`` -> 1, ``breaks[0] <= score < ...`` -> 2.

    NaN scores get 0.

    Examples
    --------
    >>> classify(np.array([1.0, 2.5, 3.49, 3.5, np.nan]), [2.5, 3.5]).tolist()
    [1, 2, 2, 3, 0]
    """
    idx = np.searchsorted(np.asarray(breaks, dtype=np.float64), score, side="right")
    out = (idx + 1).astype(np.uint8)
    out[~np.isfinite(score)] = 0
    return out


def apply_limits(classes: GradeArray, limited: BoolArray, area: BoolArray) -> GradeArray:
    """Hard limits make a cell class 1 (不适宜) whatever its score; outside the area is 0."""
    out = classes.copy()
    out[limited] = 1
    out[~area] = 0
    return out
