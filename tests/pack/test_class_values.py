"""One text form of a class value: a whole float is written like the integer, keys alike.

The oracle is written here: the integer's digits, Python's ``repr`` and the TOML text.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from packs import new_pack

from qzgeo.pack.catalog import load_pack
from qzgeo.pack.class_values import class_key, class_text, class_texts

EXACT = 2**53


def test_the_rule_on_hand_made_values() -> None:
    cases = {
        1.0: "1",
        -3.0: "-3",
        -0.0: "0",
        np.float64(2.0): "2",
        np.float32(4.0): "4",
        np.int64(7): "7",
        0.5: "0.5",
        0.1: "0.1",
        1e16: "1e+16",  # no exact integer any more: repr
        "1.0": "1.0",  # text is kept as it is
        "0101": "0101",
        "工业": "工业",
    }
    for value, text in cases.items():
        assert class_text(value) == text, value
    for missing in (None, float("nan"), np.nan, pd.NA, pd.NaT):
        assert class_text(missing) is None


def test_keys_spelling_decimals_are_the_numbers_class() -> None:
    keys = {"1.0": "1", "-3.0": "-3", "2.50": "2.5", ".5": "0.5", "1": "1", "01": "01"}
    for key, text in keys.items():
        assert class_key(key) == text, key
    assert class_key("生态保护红线") == "生态保护红线"


@given(st.integers(min_value=-EXACT + 1, max_value=EXACT - 1))
def test_a_whole_float_is_the_integer(i: int) -> None:
    assert class_text(float(i)) == class_text(i) == str(i)
    assert class_key(f"{i}.0") == str(i)
    assert class_texts(pd.Series([float(i)])).tolist() == [str(i)]


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_the_form_is_stable_and_the_column_agrees(x: float) -> None:
    text = class_text(x)
    if math.isnan(x):
        assert text is None
        return
    assert text is not None
    assert class_text(text) == text  # text is kept
    assert class_key(text) == text  # a key written as the form is the same class
    assert class_key(repr(x)) == text  # a key written as Python writes the float
    assert class_texts(pd.Series([x, None], dtype=float)).tolist() == [text, None]


def test_a_column_of_each_kind() -> None:
    ints = pd.Series([1, 2, 3], dtype="int64")
    nullable = pd.Series([1, None, 3], dtype="Int64")
    floats = pd.Series([1.0, np.nan, 2.5])
    objects = pd.Series([1.0, "工业", None], dtype=object)
    assert class_texts(ints).tolist() == ["1", "2", "3"]
    assert class_texts(nullable).tolist() == ["1", None, "3"]
    assert class_texts(floats).tolist() == ["1", None, "2.5"]
    assert class_texts(objects).tolist() == ["1", "工业", None]


def _styled(tmp_path: Path, keys: str) -> Path:
    pack = new_pack(tmp_path / "pack", "121.1,41.1")
    styles = pack / "styles" / "layers.toml"
    text = styles.read_text(encoding="utf-8").replace(
        "\n[control_lines]", keys + "\n[control_lines]"
    )
    styles.write_text(text, encoding="utf-8")
    return pack


def test_style_keys_are_read_in_the_one_form(tmp_path: Path) -> None:
    pack = load_pack(_styled(tmp_path, '\n[zones.classes."1.0"]\nfill = "#E41A1C"\n'))
    assert list(pack.styles["zones"].classes) == ["1"]
    assert pack.styles["zones"].symbol_for(1.0).fill == "#E41A1C"
    assert pack.styles["zones"].symbol_for(1).fill == "#E41A1C"
    assert pack.styles["zones"].symbol_for("1.0").fill != "#E41A1C"  # text "1.0" is not 1


def test_one_class_written_twice_is_a_problem(tmp_path: Path) -> None:
    keys = '\n[zones.classes."1"]\nfill = "#E41A1C"\n[zones.classes."1.0"]\nfill = "#377EB8"\n'
    pack = load_pack(_styled(tmp_path, keys))
    (problem,) = [p for p in pack.problems if "same class" in p]
    assert "'1'" in problem and "'1.0'" in problem and "keep one" in problem
    assert "layers.toml" in problem


def test_constraint_classes_are_read_in_the_one_form(tmp_path: Path) -> None:
    pack = new_pack(tmp_path / "pack", "121.1,41.1")
    cat = pack / "layers" / "catalog.toml"
    old = '{ "生态保护红线" = "exclusion", "城镇开发边界" = "boundary" }'
    text = cat.read_text(encoding="utf-8").replace(old, '{ "1" = "exclusion", "2.0" = "boundary" }')
    cat.write_text(text, encoding="utf-8")
    spec = load_pack(pack).layers["control_lines"]
    assert spec.constraint_classes == {"1": "exclusion", "2": "boundary"}
    assert [spec.constraint_mode(v) for v in (1.0, 2, np.float64(2.0), "2.0")] == [
        "exclusion",
        "boundary",
        "boundary",
        None,
    ]
