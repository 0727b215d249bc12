"""The house's rules, checked: where routes live, what importing a data layer loads, how long things grow.

These keep the restructuring of the page groups (blueprint in ``__init__.py``, routes in ``views.py``, forms
in ``forms.py``, domain rules in ``webapp/services``) from eroding one convenient shortcut at a time.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEBAPP = ROOT / "webapp"
ROUTE_DECORATORS = {"get", "post", "put", "patch", "delete", "route"}
MAX_VIEW_LINES = 30
MAX_LOCALAWS_FUNCTION_LINES = 80
MAX_TEST_FILE_LINES = 700
MAX_APP_MODULE_LINES = 450


def python_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*.py") if "__pycache__" not in path.parts)


def routes(path: Path) -> list[ast.FunctionDef]:
    """The functions in ``path`` decorated with a blueprint's route decorator (``@bp.get(...)`` and so on)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else None
                if isinstance(call, ast.Attribute) and call.attr in ROUTE_DECORATORS:
                    found.append(node)
                    break
    return found


def functions(path: Path) -> list[ast.FunctionDef]:
    return [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.FunctionDef)]


def length(node: ast.AST) -> int:
    return node.end_lineno - node.lineno + 1  # type: ignore[attr-defined, operator]


def test_no_route_is_defined_in_a_package_init():
    offenders = [str(path) for path in python_files(WEBAPP) if path.name == "__init__.py" and routes(path)]
    assert offenders == []


def test_every_route_lives_in_a_views_module():
    offenders = [str(path) for path in python_files(WEBAPP) if routes(path) and path.name != "views.py"]
    assert offenders == []


def test_no_view_is_longer_than_30_lines():
    long_views = [
        f"{path.relative_to(ROOT)}:{view.name} ({length(view)} lines)"
        for path in python_files(WEBAPP)
        for view in routes(path)
        if length(view) > MAX_VIEW_LINES
    ]
    assert long_views == []


def test_no_module_of_the_app_reads_request_form_by_hand():
    offenders = [str(path) for path in python_files(WEBAPP) if "request.form" in path.read_text()]
    assert offenders == []


def test_views_leave_busy_services_to_the_error_handlers():
    """An outage becomes the 503 page in one place (webapp.errors); at most two deliberate abort(503)s remain:
    a session that cannot be read, and a token endpoint that does not answer."""
    count = sum(path.read_text().count("abort(503)") for path in python_files(WEBAPP))
    assert count <= 2


@pytest.mark.parametrize(
    "module",
    [
        "webapp.aws",
        "webapp.dynamodb",
        "webapp.cognito",
        "webapp.sns",
        "webapp.sessions",
        "webapp.audit",
        "webapp.paging",
        "webapp.records.store",
        "webapp.notifications.store",
        *sorted(f"webapp.services.{path.stem}" for path in (WEBAPP / "services").glob("[a-z]*.py")),
    ],
)
def test_importing_a_data_layer_or_service_loads_no_view_and_no_form_library(module):
    probe = (
        f"import sys, {module}; "
        "print(' '.join(sorted(name for name in sys.modules "
        "if name.split('.')[0] in ('wtforms', 'flask_wtf', 'flask_login') or name.endswith('.views'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert loaded.stdout.split() == []


def test_no_app_module_is_longer_than_450_lines():
    long_modules = {
        str(path.relative_to(ROOT)): n
        for path in python_files(WEBAPP)
        if (n := len(path.read_text().splitlines())) > MAX_APP_MODULE_LINES
    }
    assert long_modules == {}


def test_no_function_of_the_local_stack_is_longer_than_80_lines():
    long_functions = [
        f"{path.relative_to(ROOT)}:{node.name} ({length(node)} lines)"
        for path in python_files(ROOT / "localaws")
        for node in functions(path)
        if length(node) > MAX_LOCALAWS_FUNCTION_LINES
    ]
    assert long_functions == []


def test_no_test_file_is_longer_than_700_lines():
    long_files = {
        str(path.relative_to(ROOT)): n
        for path in python_files(ROOT / "tests")
        if (n := len(path.read_text().splitlines())) > MAX_TEST_FILE_LINES
    }
    assert long_files == {}


def test_the_readme_code_map_names_every_module():
    """README's code map names each module of the app and of the local stack by its path (a package by its
    folder, ``webapp/records/``), so a newcomer finds every file from one table."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Map of the code")
    code_map = readme[start : readme.index("\n## ", start + 1)]
    named = set(re.findall(r"`([\w./]+)`", code_map))
    missing = []
    for folder in (WEBAPP, ROOT / "localaws"):
        for path in python_files(folder):
            relative = path.relative_to(ROOT)
            wanted = f"{relative.parent}/" if path.name == "__init__.py" else str(relative)
            if wanted not in named:
                missing.append(wanted)
    assert missing == []
