"""The house's shape (shared/DESIGN.md): no import cycle, and no module importing from a
layer above its own. Imports inside functions count too: they are still dependencies."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "labtool"

# lowest first; a module may import its own layer and those below
LAYERS = [
    ["labtool.exitcodes", "labtool._paths", "labtool.strategy", "labtool.secrets", "labtool.access",
     "labtool.progress.model", "labtool.progress.judge", "labtool.progress.text",
     "labtool.progress.page", "labtool.progress.serve", "labtool.stages", "labtool.steps"],
    ["labtool.labfile"],
    ["labtool.inventory", "labtool.events", "labtool.preflight", "labtool.fetch_hints"],
    ["labtool.runner", "labtool.local"],
    ["labtool.records", "labtool.report", "labtool.class_report", "labtool.explain",
     "labtool.checks", "labtool.nodekeys", "labtool.progress"],
    ["labtool.flow"],
    ["labtool.session"],
    ["labtool.commands"],
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The labtool modules a file imports (``from labtool import x`` counts as labtool.x)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("labtool")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("labtool"):
            out |= {f"{node.module}.{a.name}" if node.module == "labtool" else node.module
                    for a in node.names}
    return out


def _layer(module: str) -> int:
    for index, layer in enumerate(LAYERS):
        if any(module == top or module.startswith(top + ".") for top in layer):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


MODULES = {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))
           if "_ansible" not in p.parts}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "labtool"))
def test_no_module_imports_from_a_layer_above_its_own(module):
    above = sorted(i for i in MODULES[module] if _layer(i) > _layer(module))
    assert not above, f"{module} (layer {_layer(module)}) imports {above}"


def test_the_exit_codes_import_nothing_of_labtool():
    assert MODULES["labtool.exitcodes"] == set()


def test_no_import_cycle():
    graph = {m: {i for i in deps if i in MODULES and i != m} for m, deps in MODULES.items()}
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for dep in graph[module]:
            if state.get(dep) == "open":
                raise AssertionError("import cycle: " + " -> ".join(path + [module, dep]))
            if dep not in state:
                visit(dep, path + [module])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [])


def test_no_python_file_over_400_lines():
    long = {str(p.relative_to(PACKAGE.parent)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
