"""The outsider's CLI tests (issue 9): helpers in _cli.py, files from tests/data/real_shaped."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# pytest runs with --import-mode=importlib: make the helper modules importable.
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "data" / "real_shaped"))
