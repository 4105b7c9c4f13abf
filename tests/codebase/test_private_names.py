"""Textual's internals live in one room: qmfa_tui/textual_compat/.

Outside it, no code of qmfa (nor of its benchmarks) reads or writes a leading-underscore
attribute of a library object, imports a library's private module, or overrides a
library class's private method. The few exceptions are listed here with their reason.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import qmfa_tui

ROOT = Path(__file__).resolve().parent.parent.parent
ROOM = ROOT / "qmfa_tui" / "textual_compat"

# (file, name): why it may stay where it is.
ALLOWED = {
    # The program bench/perf.py spawns marks the first frame of a bare Textual app too:
    # importing qmfa there would weigh on the very start it is compared with.
    # tests/codebase/test_textual_contract.py checks App._display.
    ("bench/perf.py", "_display"),
    # peewee documents Model._meta (its "model options and table metadata").
    ("qmfa_tui/storage/database.py", "_meta"),
    # asyncssh's channel environment (the server replaces it with one that keeps nothing):
    # the server alone imports asyncssh, and test_serve* attacks that path.
    ("qmfa_tui/serve/server.py", "_env"),
    # The standard library's argparse (subcommand parsing that reports unknown options).
    ("qmfa_tui/cli/common.py", "_SubParsersAction"),
    ("qmfa_tui/cli/common.py", "_UNRECOGNIZED_ARGS_ATTR"),
    ("qmfa_tui/cli/common.py", "_name_parser_map"),
    ("qmfa_tui/cli/common.py", "_actions"),
}
# A named tuple's documented methods and fields start with an underscore.
NAMED_TUPLE = {"_replace", "_asdict", "_fields", "_make"}
LIBRARIES = ("textual", "rich", "peewee", "playhouse", "asyncssh")


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def sources() -> list[Path]:
    files = sorted((ROOT / "qmfa_tui").rglob("*.py")) + sorted((ROOT / "bench").glob("*.py"))
    return [path for path in files if ROOM not in path.parents]


def own_names(trees: list[ast.Module]) -> set[str]:
    """The underscore names qmfa's own code defines: functions, classes, names assigned
    in a class body, and attributes assigned on ``self`` or ``cls``."""
    found: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found.add(node.name)
            if isinstance(node, ast.ClassDef):
                for statement in node.body:
                    targets = (
                        statement.targets
                        if isinstance(statement, ast.Assign)
                        else [statement.target]
                        if isinstance(statement, ast.AnnAssign)
                        else []
                    )
                    found |= {target.id for target in targets if isinstance(target, ast.Name)}
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("self", "cls")
            ):
                found.add(node.attr)
    return {name for name in found if is_private(name)}


def programs_in(tree: ast.Module) -> list[ast.Module]:
    """``tree``, and the Python programs held in its strings (a benchmark's child)."""
    found = [tree]
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" in node.value:
            try:
                found.append(ast.parse(node.value))
            except SyntaxError:
                continue
    return found


def outside_the_room() -> list[str]:
    """Each private library name used outside the room, as ``file:line name``."""
    parsed = [
        (path, program)
        for path in sources()
        for program in programs_in(ast.parse(path.read_text(), str(path)))
    ]
    ours = own_names([tree for _, tree in parsed])
    found = []
    for path, tree in parsed:
        relative = path.relative_to(ROOT).as_posix()
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Attribute) and is_private(node.attr):
                if node.attr not in ours and node.attr not in NAMED_TUPLE:
                    names.append(node.attr)
            elif isinstance(node, ast.ImportFrom) and not (node.module or "").startswith(
                "qmfa_tui"
            ):
                parts = (node.module or "").split(".") + [alias.name for alias in node.names]
                names += [part for part in parts if is_private(part)]
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    names += [part for part in alias.name.split(".") if is_private(part)]
            found += [
                f"{relative}:{getattr(node, 'lineno', 0)} {name}"
                for name in names
                if (relative, name) not in ALLOWED
            ]
    return found


def test_no_private_library_name_is_used_outside_textual_compat():
    assert outside_the_room() == []


def test_the_lint_sees_a_private_name_used_outside_the_room(tmp_path, monkeypatch):
    """The check above finds what it is for: an App's private attribute read in a screen,
    and a private Textual module imported."""
    screen = tmp_path / "qmfa_tui" / "screens" / "stray.py"
    screen.parent.mkdir(parents=True)
    screen.write_text(
        "from textual._xterm_parser import XTermParser\n"
        "def driver_of(app):\n"
        "    return app._driver\n"
    )
    (tmp_path / "bench").mkdir()
    monkeypatch.setattr(importlib.import_module(__name__), "ROOT", tmp_path)
    assert sorted(outside_the_room()) == [
        "qmfa_tui/screens/stray.py:1 _xterm_parser",
        "qmfa_tui/screens/stray.py:3 _driver",
    ]


def library_private_overrides() -> list[str]:
    """Methods that a class of qmfa (outside the room) defines over a private name of a
    library class it, or a class mixing it in, derives from (Textual, Rich, peewee,
    asyncssh)."""
    found = set()
    for info in pkgutil.walk_packages(qmfa_tui.__path__, "qmfa_tui."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            mro = cls.__mro__
            libraries = [c for c in mro if c.__module__.split(".")[0] in LIBRARIES]
            ours = [
                c
                for c in mro
                if c.__module__.startswith("qmfa_tui.")
                and not c.__module__.startswith("qmfa_tui.textual_compat")
            ]
            for own in ours:
                # Textual sets private data on each class it sees (_merged_bindings, …):
                # only what the class itself defines as a method or property counts.
                for name, value in vars(own).items():
                    defined = inspect.isfunction(value) or isinstance(value, property)
                    if defined and is_private(name) and any(name in vars(c) for c in libraries):
                        found.add(f"{own.__module__}.{own.__qualname__}.{name}")
    return sorted(found)


def test_no_class_outside_the_room_overrides_a_private_library_hook():
    assert library_private_overrides() == []
