"""Dependencies between the apps point one way: exports -> scoring -> annotation.

annotation knows nothing of scoring or exports, and scoring nothing of exports; each app serves
its own API from its own api.py. Checked on the source with ast, so an import hidden inside a
function counts too.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "annotation": {"scoring", "exports"},
    "scoring": {"exports"},
}


def imported_apps(path: Path) -> set[tuple[int, str]]:
    """(line, top-level package) of every absolute import in the module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, alias.name.split(".")[0]) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.lineno, node.module.split(".")[0]))
    return found


def violations(app: str) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {package}"
        for path in sorted((ROOT / app).rglob("*.py"))
        for line, package in sorted(imported_apps(path))
        if package in FORBIDDEN[app]
    ]


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_an_app_never_imports_the_apps_built_on_it(app):
    assert list((ROOT / app).rglob("*.py")), f"no modules found under {app}/"
    assert violations(app) == []


def test_the_check_sees_an_import_hidden_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "def f():\n    from exports.models import Release\n    import scoring.tasks\n"
    )
    assert imported_apps(module) == {(2, "exports"), (3, "scoring")}
