"""Property tests of signing in: the next parameter never sends anyone off site, and a forged callback is a 400.

Each property sends what hypothesis draws (tests/support/fuzzing.py) through the test client as the signed-in
seed user and the seed admin of the module's stack, and checks: never a 5xx; a refused input writes nothing
(the app's tables, SNS and the Cognito pool hold what they held before); an accepted input round-trips.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st

from tests.support.fuzzing import fuzz, hostile
from tests.support.sending import get


def test_sign_in_never_sends_anyone_off_site_and_a_forged_callback_is_a_400(stack):
    off_site = [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/%2F/evil.example",
        "/\t/evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/records?q=1",
    ]

    @fuzz(30)
    @given(target=hostile | st.sampled_from(off_site), state=hostile, code=hostile)
    def check(target, state, code):
        signed_in = get(stack.user, "/auth/login", {"next": target})
        assert signed_in.status_code == 302
        location = urlsplit(signed_in.location)
        assert not location.scheme and not location.netloc and location.path.startswith("/")
        assert not location.path.startswith(("//", "/\\"))
        anonymous = stack.app.test_client()
        assert get(anonymous, "/auth/callback", {"state": state, "code": code}).status_code == 400
        assert anonymous.get("/account").status_code == 302  # still signed out

    check()
