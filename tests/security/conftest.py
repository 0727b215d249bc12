"""The security tests use the functional tests' signed-in clients (the seed user and the seed admin)."""

from tests.functional.conftest import admin, user  # noqa: F401 (fixtures, re-exported for pytest)
