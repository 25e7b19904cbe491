"""The tree keeps its shape: small modules, each package with its job, no import cycle."""

import ast
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "harness"
MAX_LINES = 300
EXEMPT = {
    "models/embedded/train.py",
    "models/embedded/tickets.py",
}  # the embedded model's training recipe and its synthetic data generator


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(HARNESS.rglob("*.py")):
        rel = path.relative_to(HARNESS.parent).with_suffix("")
        parts = list(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        found[".".join(parts)] = path
    return found


def _runtime_nodes(tree: ast.AST):
    """Every node of a module but those under ``if TYPE_CHECKING:`` (type hints only)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in ast.walk(child))
            continue
        yield node
        yield from _runtime_nodes(node)


def harness_imports(name: str, path: Path, known: set[str], *, typing: bool = False) -> set[str]:
    """Modules of the harness that ``name`` imports at its top level or in a function (with
    ``typing``, also under ``if TYPE_CHECKING:``)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree) if typing else _runtime_nodes(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                out.add(candidate if candidate in known else base)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m in known and m != name}


def test_no_module_is_over_300_lines():
    long = {
        str(p.relative_to(HARNESS)): n
        for p in HARNESS.rglob("*.py")
        if str(p.relative_to(HARNESS)) not in EXEMPT and (n := len(p.read_text().splitlines())) > MAX_LINES
    }
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
                pytest.fail(
                    "import cycle: " + " -> ".join(stack[stack.index(dep) :] + [node, dep])
                    if dep in stack
                    else f"import cycle through {node} -> {dep}"
                )
            if dep not in state:
                visit(dep, stack + [node])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


# The order of the sub-packages, lowest first (docs/contributing.md, "The order of the packages"): a
# module may import from its own sub-package and from those before it, never from one after it,
# whether at the top, in a function or for type hints only.
ORDER = (
    "errors",
    "common",
    "settings",
    "models",
    "evaluation",
    "variants",
    "measure",
    "runtime",
    "results",
    "gates",
    "ship",
    "report",
    "run",
    "plugin",
    "__main__",
)


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_imports_follow_the_order_of_the_packages():
    found = modules()
    layers = {_layer(name) for name in found} - {"__init__"}
    assert layers <= set(ORDER), f"sub-packages missing from ORDER: {sorted(layers - set(ORDER))}"
    backward = []
    for name, path in found.items():
        layer = _layer(name)
        if layer == "__init__":  # harness/__init__.py: the public names, gathered from anywhere
            continue
        for imported in harness_imports(name, path, set(found), typing=True):
            target = _layer(imported)
            if target != "__init__" and ORDER.index(target) > ORDER.index(layer):
                backward.append(f"{name} imports {imported} ({layer} is below {target})")
    assert not backward, "imports against the order of the packages:\n" + "\n".join(sorted(backward))


def test_the_pytest_plugin_is_an_adapter_no_other_package_imports():
    found = modules()
    importers = sorted(
        name
        for name, path in found.items()
        if _layer(name) != "plugin"
        and any(_layer(m) == "plugin" for m in harness_imports(name, path, set(found), typing=True))
    )
    assert not importers, f"modules that import the pytest plugin: {importers}"
    run_layer = [path for name, path in found.items() if _layer(name) == "run"]
    assert run_layer and not [p for p in run_layer if "import pytest" in p.read_text()], "the run layer imports pytest"


def test_pyproject_installs_every_package():
    """pyproject.toml lists the packages a wheel holds: every folder of harness/ with an
    __init__.py or data, the suites, and the data sets under their package names (a folder of data
    left out would be installed with a warning per build, and a new data set not at all)."""
    import tomllib

    config = tomllib.loads((HARNESS.parent / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {
        ".".join(p.relative_to(HARNESS.parent).parts)
        for p in [HARNESS, *HARNESS.rglob("*")]
        if p.is_dir() and p.name != "__pycache__"
    }
    data_sets = {f"harness.data.{p.name}" for p in (HARNESS.parent / "datasets").iterdir() if p.is_dir()}
    assert set(config["packages"]) == folders | {"harness.suites", "harness.data"} | data_sets
    assert config["package-dir"] == {"harness": "harness", "harness.suites": "suites", "harness.data": "datasets"}
