"""Helpers of the outsider's CLI tests (issue 9): run qzgeo as a user does, read its JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from qzgeo.cli.main import cli  # the public entry point, nothing internal

MINIPACK = Path(__file__).resolve().parents[1] / "data" / "minipack"


def qzgeo(*args: str | Path) -> Result:
    """Run ``qzgeo ARGS`` in-process; uncaught exceptions stay in ``result.exception``."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def check_json(*args: str | Path) -> tuple[Result, list[dict[str, Any]]]:
    """``qzgeo check ARGS --format json``: the result and the parsed JSON (exit 0 or 1)."""
    res = qzgeo("check", *args, "--format", "json")
    assert res.exit_code in (0, 1), (res.exit_code, res.output, res.exception)
    return res, json.loads(res.stdout)


def assert_exit2(res: Result, *needles: str) -> None:
    """Exit 2 from a handled error: no traceback, no crash, and the message names ``needles``."""
    crashed = res.exception is not None and not isinstance(res.exception, SystemExit)
    assert not crashed, f"crashed: {res.exception!r}"
    assert res.exit_code == 2, (res.exit_code, res.output)
    assert "Traceback" not in res.output
    assert "No such option" not in res.output, res.output
    for n in needles:
        assert n in res.output, (n, res.output)


def warnings_of(sites: list[dict[str, Any]]) -> str:
    """Every warning and repair of every site, one per line."""
    return "\n".join(w for s in sites for w in [*s["warnings"], *s["repairs"]])
