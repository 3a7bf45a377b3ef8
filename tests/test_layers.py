"""The package's layers, as docs/architecture.md draws them: each module imports only from its own
layer or those below it, and no set of modules imports itself round in a circle. Imports inside
functions count too: hiding one there does not undo the dependency."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "latent_studio"
LAYERS = ["runs", "data", "families", "inference", "evaluation", "training", "app"]  # bottom to top
TOP = len(LAYERS)  # the package root's own modules (cli, __main__) stand above every layer


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules `path` imports: `from latent_studio.x import y` names x.y when y is a
    module, else x; a package's __init__ counts only when its own names are imported."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("latent_studio"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("latent_studio")}
    return found


def layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return -1  # the package root holds paths only: below everything
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else TOP


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def test_every_subpackage_is_a_layer():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(LAYERS)


def test_no_module_imports_from_a_layer_above_it():
    assert not (found := climbs(graph())), "imports that climb a layer:\n" + "\n".join(found)


def climbs(g: dict[str, set[str]]) -> list[str]:
    return sorted(f"{m} -> {d}" for m, deps in g.items() for d in deps if layer(d) > layer(m))


def circles(g: dict[str, set[str]]) -> list[str]:
    """Each circle found by a depth-first walk, as 'a -> b -> a'."""
    state, found = {}, []

    def visit(node, stack):
        state[node] = "open"
        for dep in sorted(g.get(node, ())):
            if state.get(dep) == "open":
                found.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = "done"

    for node in sorted(g):
        if node not in state:
            visit(node, [node])
    return found


def test_there_are_no_import_circles():
    assert not (found := circles(graph())), "import circles:\n" + "\n".join(found)


def test_the_checks_see_a_climb_and_a_circle(tmp_path):
    """The graph is built from the source as written: a climb and a circle added to it are found."""
    g = {"latent_studio.runs.a": {"latent_studio.app.b"}, "latent_studio.app.b": {"latent_studio.runs.a"}}
    assert climbs(g) == ["latent_studio.runs.a -> latent_studio.app.b"]
    assert circles(g) == ["latent_studio.app.b -> latent_studio.runs.a -> latent_studio.app.b"]
    known = {"latent_studio.runs.files": Path(), "latent_studio.runs": Path()}
    source = tmp_path / "x.py"
    source.write_text("def f():\n    from latent_studio.runs import files\n    from latent_studio.runs import CONSTANT\n")
    assert imports(source, known) == {"latent_studio.runs.files", "latent_studio.runs"}
