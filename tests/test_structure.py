"""The package's shape: imports point one way, private names stay private.

The import graph is read from the source (every ``import`` statement, module level or inside
a function), so a cycle dodged by a function-level import still counts as a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bioopzo"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, name: str):
    """(imported module, imported name or None, line) for every bioopzo import in ``path``."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "bioopzo":
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "bioopzo":
                continue
            for alias in node.names:
                yield target, alias.name, node.lineno


def import_graph() -> dict[str, set[str]]:
    graph = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, imported, _ in imports_of(path, name):
            full = f"{target}.{imported}" if imported else target
            graph[name].add(full if full in MODULES else target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_graph_reader_sees_imports():
    graph = import_graph()
    assert "bioopzo.config" in graph["bioopzo.reference"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_import_graph_has_no_cycle():
    assert cycles(import_graph()) == []


def private_imports(paths) -> list[str]:
    found = []
    for path in paths:
        name = module_name(path) if path.is_relative_to(PACKAGE) else path.stem
        for target, imported, line in imports_of(path, name):
            hidden = [part for part in [*target.split("."), imported or ""] if part.startswith("_")
                      and not part.startswith("__")]
            if hidden and target != name:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {target}.{imported}")
    return found


def test_no_module_imports_a_private_name_from_another():
    assert private_imports(MODULES.values()) == []


def test_tests_import_public_names_only():
    assert private_imports(sorted((ROOT / "tests").rglob("*.py"))) == []


def test_private_import_check_catches_one():
    probe = ROOT / "tests" / "_probe_private_import.py"
    probe.write_text("from bioopzo.config import _secret\n")
    try:
        assert private_imports([probe]) == ["tests/_probe_private_import.py:1 imports "
                                            "bioopzo.config._secret"]
    finally:
        probe.unlink()


def test_reference_needs_no_brian2():
    """The NumPy oracle imports nothing that imports Brian2."""
    code = "import sys, bioopzo.reference; print(sorted(m for m in sys.modules if m.startswith('brian2')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def layout_modules() -> set[str]:
    """Module paths listed in the README's layout section: a line starting with a folder of
    the package (``bioopzo/rules/``) names that package, the ``.py`` lines below it its modules."""
    text = (ROOT / "README.md").read_text()
    layout = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    listed, folder = set(), None
    for line in layout.splitlines():
        if not line.startswith("    ") or not line.strip():
            continue
        first = line.split()[0]
        if first.startswith("bioopzo") and first.endswith("/"):
            folder = first
            listed.add(folder + "__init__.py")
        elif first.endswith(".py") and folder:
            listed.add(folder + first)
    return listed


def test_readme_layout_has_one_line_per_module():
    """A newcomer finds every module from the README's layout section, and nothing that is gone."""
    modules = {str(path.relative_to(ROOT)) for path in MODULES.values()}
    listed = layout_modules()
    assert sorted(modules - listed) == [], "modules missing from the README's layout"
    assert sorted(listed - modules) == [], "the README's layout names modules that do not exist"
