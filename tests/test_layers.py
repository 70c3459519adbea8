"""The package's imports go one way: no import cycle, nothing up a layer of docs/architecture.md.

The graph is read from the source (``ast``), so a cycle is found even when
it would only bite at run time. Two graphs are checked: the imports a
module makes when it is imported (these must never form a cycle: a cycle
there breaks depending on which module is imported first), and every
import, the ones inside functions included (a cycle there means two modules
depend on each other: one of them is in the wrong room).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sessman"


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = (path, is_package)
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The sessman module ``name`` is (or lives in)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """The sessman modules an ``import`` statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        source = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
        source = source or ""
        names = [
            f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source
            for alias in node.names
        ]
    else:
        return
    for name in names:
        owner = _owner(name) if name.split(".")[0] == "sessman" else None
        if owner is not None and owner != module:
            yield owner


def _at_import_time(tree: ast.Module) -> Iterator[ast.stmt]:
    """The statements run when the module is imported (``if TYPE_CHECKING:`` blocks aside)."""
    for node in tree.body:
        if isinstance(node, ast.If):
            continue  # TYPE_CHECKING: only for the type checker
        if isinstance(node, ast.Try):
            yield from node.body
            for handler in node.handlers:
                yield from handler.body
            continue
        yield node


def _direct(*, lazy: bool) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module, (path, is_package) in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = ast.walk(tree) if lazy else _at_import_time(tree)
        edges[module] = {t for node in nodes for t in _imports(node, module, is_package)}
    return edges


def graph(*, lazy: bool) -> dict[str, set[str]]:
    """Module -> the sessman modules it imports (all of them with ``lazy``).

    Importing ``a.b.c`` also runs the ``__init__`` of ``a.b`` (and of ``a``):
    what those import when they are imported counts as imported too.
    """
    edges = _direct(lazy=lazy)
    eager = _direct(lazy=False)
    for module, targets in edges.items():
        for target in list(targets):
            parent = target.rpartition(".")[0]
            while parent and parent != "sessman":
                if parent in eager and parent != module and not module.startswith(parent + "."):
                    targets.update(t for t in eager[parent] if t != module)
                parent = parent.rpartition(".")[0]
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found)


def test_the_graph_is_read() -> None:
    # Control: the parser sees the edges that exist.
    edges = graph(lazy=True)
    assert "sessman.cli.options" in edges["sessman.cli.sessions"]
    assert "sessman.cli.sessions" in edges["sessman.cli.app"]
    assert "sessman.fileformat" in edges["sessman.config"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_cycle_at_import_time() -> None:
    assert cycles(graph(lazy=False)) == []


def test_no_cycle_even_through_imports_inside_functions() -> None:
    assert cycles(graph(lazy=True)) == []


def test_the_cli_is_assembled_in_app_only() -> None:
    """Command modules import shared modules, never ``app`` nor each other."""
    edges = graph(lazy=True)
    commands = {
        "sessman.cli.agent_cmd",
        "sessman.cli.handover",
        "sessman.cli.lifecycle",
        "sessman.cli.profiles",
        "sessman.cli.secrets_cmd",
        "sessman.cli.server",
        "sessman.cli.sessions",
        "sessman.cli.sso",
    }
    assert commands <= set(MODULES)
    for module in commands:
        assert "sessman.cli.app" not in edges[module], module
        assert not edges[module] & (commands - {module}), module
    importers = {m for m, targets in edges.items() if "sessman.cli.app" in targets}
    assert importers == {"sessman.cli"}  # the console script


def test_nothing_below_the_cli_imports_it() -> None:
    """Only the entry point (``python -m sessman``) reaches into ``sessman.cli``."""
    below = {m for m in MODULES if not m.startswith("sessman.cli")} - {"sessman.__main__"}
    edges = graph(lazy=True)
    offenders = {m: t for m in below if (t := {x for x in edges[m] if x.startswith("sessman.cli")})}
    assert offenders == {}


ARCHITECTURE = ROOT / "docs" / "architecture.md"
#: Where a line of the diagram leaves its layer's label and names its rooms.
_ROOMS_COLUMN = 12


def documented_layers(text: str) -> list[tuple[str, list[str]]]:
    """The layers of the diagram in docs/architecture.md, top first, with the rooms each names.

    A row names its rooms (``x.py`` files and ``x/`` folders under
    ``sessman/``) from the rooms column on, until the first word that is no
    room; a row indented past that column only continues a description.
    """
    block = text.split("```\n", 2)[1]
    layers: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if not line.strip() or line.startswith("─"):
            continue
        label = line[:_ROOMS_COLUMN].strip()
        if label:
            layers.append((label, []))
        rest = line[_ROOMS_COLUMN:]
        if rest.startswith(" "):
            continue
        for word in rest.split():
            if not (word.endswith(".py") or word.endswith("/")):
                break
            layers[-1][1].append(word)
    return layers


def _room_module(room: str) -> str:
    """The dotted name a room stands for (a folder: the prefix of its modules)."""
    name = "sessman." + room.removesuffix("/").removesuffix(".py").replace("/", ".")
    return name.removesuffix(".__init__")


def layer_of() -> dict[str, int]:
    """Each module's layer (0 at the top): its own row's, else its nearest folder's."""
    files: dict[str, int] = {}
    folders: dict[str, int] = {}
    for depth, (_, named) in enumerate(documented_layers(ARCHITECTURE.read_text("utf-8"))):
        for room in named:
            (folders if room.endswith("/") else files)[_room_module(room)] = depth
    placed = {}
    for module in MODULES:
        if module in files:
            placed[module] = files[module]
            continue
        name = module
        while name and name not in folders:
            name = name.rpartition(".")[0]
        if name:
            placed[module] = folders[name]
    return placed


def test_the_diagram_is_read() -> None:
    # Control: the parser sees the rows as they are written.
    layers = dict(documented_layers(ARCHITECTURE.read_text("utf-8")))
    assert list(layers) == [
        "entry",
        "commands",
        "features",
        "front",
        "sessions",
        "stores",
        "rules",
        "leaves",
    ]
    assert "manager.py" in layers["front"] and "sources/" in layers["sessions"]
    assert all("credproc.py" not in rooms for rooms in layers.values())  # a description's word
    assert layer_of()["sessman.sources.role"] == layer_of()["sessman.botosessions"]


def test_every_room_of_the_diagram_exists() -> None:
    rooms = [r for _, named in documented_layers(ARCHITECTURE.read_text("utf-8")) for r in named]
    missing = [r for r in rooms if not (PACKAGE / r).exists()]
    assert missing == []
    assert len(rooms) == len(set(rooms))


def test_every_module_is_in_the_diagram() -> None:
    placed = layer_of()
    assert [m for m in MODULES if m not in placed] == []


def test_imports_never_go_up_a_layer() -> None:
    placed = layer_of()
    upward = [
        f"{module} -> {target}"
        for module, targets in graph(lazy=True).items()
        for target in sorted(targets)
        if module in placed and target in placed and placed[target] < placed[module]
    ]
    assert upward == []
