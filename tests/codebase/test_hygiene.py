"""Layering: the rules and the storage never pull in Textual."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent.parent / "qmfa_tui"


def modules_under(folder: str) -> list[str]:
    return [
        f"qmfa_tui.{folder}.{path.stem}"
        for path in sorted((PACKAGE / folder).glob("*.py"))
        if path.stem != "__init__"
    ]


def test_importing_services_and_storage_does_not_import_textual():
    modules = [
        "qmfa_tui.services",
        "qmfa_tui.storage",
        *modules_under("services"),
        *modules_under("storage"),
    ]
    program = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'textual')\n"
        "print(bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_no_service_or_storage_module_names_textual_or_a_screen():
    for folder in ("services", "storage"):
        for path in (PACKAGE / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                for name in names:
                    assert not name.startswith(
                        (
                            "textual",
                            "qmfa_tui.screens",
                            "qmfa_tui.widgets",
                            "qmfa_tui.app",
                            "qmfa_tui.cli",
                        )
                    ), f"{path}: {name}"


def test_each_screen_stylesheet_styles_only_its_own_screen():
    # Stylesheets stay loaded after their screen closes: an un-nested `#buttons` would
    # style every later screen's #buttons.
    import importlib
    import inspect

    from textual.app import App
    from textual.css.stylesheet import Stylesheet
    from textual.screen import Screen

    variables = App().get_css_variables()
    for path in sorted((PACKAGE / "screens").glob("*.tcss")):
        module = importlib.import_module(f"qmfa_tui.screens.{path.stem}")
        screens = {
            cls.__name__
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if cls.__module__ == module.__name__ and issubclass(cls, Screen)
        }
        stylesheet = Stylesheet(variables=variables)
        stylesheet.read(path)
        stylesheet.parse()
        assert stylesheet.rules, path.name
        for rule in stylesheet.rules:
            for selector_set in rule.selector_set:
                assert selector_set.selectors[0].name in screens, (path.name, rule.css)


# Service functions a screen may call that never touch the database.
PURE_SERVICE_CALLS = {
    ("recovery", "codes_text"),
    ("clock", "utc"),
    ("clock", "now"),
    ("policy", "grace_change_notice"),  # words from two numbers: no database
    ("policy", "mandatory_consequence"),
    ("accounts", "password_confirmed"),  # reads the Actor's clock, not the database
}


def test_every_service_call_from_a_screen_goes_through_the_service_boundary():
    # translate_errors turns database failures into messages and gives a worker thread's
    # pooled connection back; a call that skipped it would keep its connection for good.
    # A service function is called directly or handed to call_service (partial(svc.f, …)):
    # every function of a service module named in a screen is checked, called or not.
    import importlib
    import inspect

    checked = 0
    for path in [
        *(PACKAGE / "screens").glob("*.py"),
        *(PACKAGE / "widgets").glob("*.py"),
        PACKAGE / "app.py",
    ]:
        tree = ast.parse(path.read_text())
        services = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "qmfa_tui.services"
            for alias in node.names
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in services
            ):
                module = importlib.import_module(f"qmfa_tui.services.{node.value.id}")
                function = getattr(module, node.attr)
                if not inspect.isfunction(function):
                    continue  # a type or a constant: nothing is called
                checked += 1
                called = (node.value.id, node.attr)
                assert hasattr(function, "__wrapped__") or called in PURE_SERVICE_CALLS, (
                    path.name,
                    called,
                )
    assert checked > 30  # the walk still finds the screens' service calls


def test_a_screen_hears_of_a_refusal_only_through_service_failed():
    # One way to call a service (screens/service_call.py): no screen catches a QmfaError
    # itself, but opening.read_then_push, which pushes what `if_failed` makes of it.
    catching = set()
    for path in sorted((PACKAGE / "screens").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ExceptHandler) and "QmfaError" in ast.unparse(
                node.type or ast.Constant(None)
            ):
                catching.add(path.name)
    assert catching == {"service_call.py", "opening.py"}
