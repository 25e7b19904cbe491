"""The tree keeps its shape: small modules, each package with its job, no import cycle."""

import ast
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "harness"
MAX_LINES = 300
EXEMPT = {"models/embedded/train.py", "models/embedded/tickets.py"}  # the embedded model's training recipe and its synthetic data generator


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(HARNESS.rglob("*.py")):
        rel = path.relative_to(HARNESS.parent).with_suffix("")
        parts = list(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        found[".".join(parts)] = path
    return found


def harness_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of the harness that ``name`` imports at its top level or in a function."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                out.add(candidate if candidate in known else base)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m in known and m != name}


def test_no_module_is_over_300_lines():
    long = {str(p.relative_to(HARNESS)): n for p in HARNESS.rglob("*.py")
            if str(p.relative_to(HARNESS)) not in EXEMPT and (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_every_package_says_its_job():
    for init in HARNESS.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and doc.strip() != "TODO", f"{init.relative_to(HARNESS.parent)} has no one-line job"


def test_no_import_cycle():
    found = modules()
    graph = {name: harness_imports(name, path, set(found)) for name, path in found.items()}
    # a package's __init__ is imported with any of its modules: not an edge that makes a cycle
    graph = {n: {m for m in deps if not n.startswith(m + ".")} for n, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                pytest.fail("import cycle: " + " -> ".join(stack[stack.index(dep):] + [node, dep]) if dep in stack
                            else f"import cycle through {node} -> {dep}")
            if dep not in state:
                visit(dep, stack + [node])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
