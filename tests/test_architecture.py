"""The house rules of ``qzgeo/``, checked on the source (see docs/architecture.md).

Stages, from the ground up: ``geo`` → ``io`` → ``pack`` → ``analysis`` → ``publish`` →
``pipeline`` → ``cli``. A module may import its own stage and the stages below it, never one
above; there are no import cycles between modules; no module imports another module's private
(``_name``) names; modules stay under 500 lines and functions under 80.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "qzgeo"

#: Rank of each stage; the modules at the base (errors, notices, the cache folder, progress
#: bars) are importable by all.
STAGES = {
    "qzgeo._errors": 0,
    "qzgeo.notices": 0,
    "qzgeo.cache_store": 0,
    "qzgeo.progress": 0,
    "qzgeo.geo": 1,
    "qzgeo.io": 2,
    "qzgeo.pack": 3,
    "qzgeo.analysis": 4,
    "qzgeo.publish": 5,
    "qzgeo.pipeline": 6,
    "qzgeo.cli": 7,
    "qzgeo": 8,  # the package face: re-exports the library entry points
}
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "_pack" not in p.parts}


def _stage(module: str) -> int:
    best = ""
    for prefix in STAGES:
        if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    return STAGES[best]


def _imports(path: Path, modules: dict[str, Path]) -> list[tuple[str, list[str], int]]:
    """(imported module, imported names, line) for every qzgeo import, lazy ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("qzgeo"):
                continue
            names = [a.name for a in node.names]
            # ``from qzgeo.publish import browser`` imports the submodule qzgeo.publish.browser
            subs = [f"{node.module}.{n}" for n in names if f"{node.module}.{n}" in modules]
            if subs:
                out.extend((s, [], node.lineno) for s in subs)
            else:
                out.append((node.module, names, node.lineno))
        elif isinstance(node, ast.Import):
            out.extend((a.name, [], node.lineno) for a in node.names if a.name.startswith("qzgeo"))
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {m for m, _, _ in _imports(path, modules) if m in modules and m != name}
        for name, path in modules.items()
    }


def test_imports_point_down_the_pipeline() -> None:
    modules = _modules()
    upward = []
    for name, path in modules.items():
        for target, _, line in _imports(path, modules):
            if target in modules and _stage(target) > _stage(name):
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} {name} -> {target}")
    assert not upward, "imports that run up the pipeline:\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_private_names_across_modules() -> None:
    modules = _modules()
    found = []
    for name, path in modules.items():
        for target, names, line in _imports(path, modules):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and target != name:
                where = f"{path.relative_to(PACKAGE.parent)}:{line}"
                found.append(f"{where} imports {', '.join(private)} from {target}")
    assert not found, "\n".join(found)


def test_modules_are_small() -> None:
    big = {}
    for name, path in _modules().items():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_MODULE_LINES:
            big[name] = n
    assert not big, f"modules over {MAX_MODULE_LINES} lines: {big}"


def test_functions_are_short() -> None:
    long = []
    for path in _modules().values():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name} {n}")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(long)


@pytest.mark.parametrize("stage", ["geo", "io", "pack", "analysis", "publish", "cli"])
def test_every_stage_is_a_package(stage: str) -> None:
    assert (PACKAGE / stage / "__init__.py").is_file()
