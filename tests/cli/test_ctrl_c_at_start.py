"""Ctrl-C in the first ~0.1 s of `qzgeo ...` ends the run with click's one line (Aborted!,
exit 1), as later; it printed Python's KeyboardInterrupt traceback of whatever was loading.

The console script imported qzgeo.cli.main, and with it click, logging, typing, threading...,
before click's handling began. The entry point (pyproject's [project.scripts]) is now a module
that holds SIGINT from its first line of code while the command line loads. Left before it:
the interpreter's start and pip's wrapper's `import re` (nothing of qzgeo can run there), and
the light packages qzgeo and qzgeo.cli and the entry's `import signal`.

The child is run as pip's console-script wrapper runs the configured entry point; Ctrl-C is
sent at each module import once the entry module starts loading (an audit hook, exact), and
after a few delays (real time, as the user presses it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib

import pytest
from support import ROOT

MODULE, FUNC = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
    "scripts"
]["qzgeo"].split(":")
#: pip's console-script wrapper (pip/_internal/operations/install/wheel.py), for this entry
WRAPPER = f"""import re
import sys
from {MODULE} import {FUNC}
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit({FUNC}())
"""
#: Ctrl-C at the N-th module import from the entry module's own (0: none, list them)
_AT_IMPORT = """import os, signal, sys
at = int(os.environ["AT_IMPORT"])
seen = []
def hook(event, args):
    if event != "import" or not (seen or args[0] == os.environ["ENTRY"]):
        return
    seen.append(args[0])
    if len(seen) == at:
        signal.raise_signal(signal.SIGINT)
sys.addaudithook(hook)
if not at:
    import atexit
    atexit.register(lambda: print("IMPORTS", " ".join(seen), file=sys.stderr))
"""
#: imports before the entry can hold Ctrl-C: the packages it lives in, and the signal module
BEFORE_THE_HOLD = {"qzgeo", "qzgeo.cli", "qzgeo.cli.entry", "signal"}
ARGS = ["convert", "a.geojson", "b.gpkg"]  # loads geopandas, then exit 2 (no such file)


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "ENTRY": MODULE, **extra}


def _run_at_import(at: int, cwd: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _AT_IMPORT + WRAPPER, *ARGS],
        capture_output=True, text=True, env=_env(AT_IMPORT=str(at)), cwd=str(cwd), timeout=120,
    )  # fmt: skip


def _aborted(res: subprocess.CompletedProcess[str] | tuple[int, str]) -> None:
    code, err = (res.returncode, res.stderr) if not isinstance(res, tuple) else res
    assert "Traceback" not in err, err
    assert code == 1 and err.strip().endswith("Aborted!"), (code, err)


def test_ctrl_c_at_any_import_while_the_command_line_loads_is_one_line(tmp_path: object) -> None:
    listed = _run_at_import(0, tmp_path)
    assert listed.returncode == 2, listed.stderr  # the run itself: no such file
    imports = listed.stderr.split("IMPORTS", 1)[1].split()
    first = next(i for i, name in enumerate(imports) if name not in BEFORE_THE_HOLD)
    assert imports[0] == MODULE and first <= len(BEFORE_THE_HOLD), imports[:10]
    # every other one of the first 60 imports (click and the command line), then a spread
    # until the command's own (loaded by click under its handling: test_ctrl_c_while_loading;
    # importlib.import_module has no audit event, its first import qzgeo.cli.options marks it)
    # and after
    command = imports.index("qzgeo.cli.options") + 1
    ats = sorted({*range(first + 1, 61, 2), *range(61, command, 30), command, command + 200})
    for at in ats:
        res = _run_at_import(at, tmp_path)
        assert "Traceback" not in res.stderr, (at, imports[at - 1], res.stderr[-800:])
        _aborted(res)


@pytest.mark.parametrize("delay", [0.08, 0.12, 0.2, 0.3])
def test_ctrl_c_pressed_early_is_one_line(tmp_path: object, delay: float) -> None:
    p = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, *ARGS],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=str(tmp_path),
    )  # fmt: skip
    time.sleep(delay)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    _aborted((p.returncode, err))
