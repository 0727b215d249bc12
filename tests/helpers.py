"""The old home of the shared form helpers, now tests/support/forms.py; kept as a re-export only for tests
written against it while the restructuring lands. New tests import ``tests.support.forms``."""

from tests.support.forms import ADMIN, ADMIN_PASSWORD, USER, USER_PASSWORD, HostedLoginBrowser, csrf, hidden, signed_in

__all__ = ["ADMIN", "ADMIN_PASSWORD", "USER", "USER_PASSWORD", "HostedLoginBrowser", "csrf", "hidden", "signed_in"]
