"""Where `next` may send a user after sign-in: only to a path on this site."""

import pytest

from webapp.auth.guards import safe_next


@pytest.mark.parametrize(
    "target",
    ["/", "/account", "/records?status=open&page=2", "/records/abc#history", "/a%20b"],
)
def test_a_path_on_this_site_is_followed(target):
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "//evil.example",
        "///evil.example",
        "https://evil.example/",
        "http:evil.example",
        "javascript:alert(1)",
        "/\\evil.example",
        "\\\\evil.example",
        "/%2F%2Fevil.example",
        "%2F%2Fevil.example",
        "/%5Cevil.example",
        "/\tevil",
        "/\r\nSet-Cookie: x=y",
        "evil.example",
        "/" + "a" * 3000,
    ],
    ids=repr,
)
def test_anything_that_could_leave_the_site_becomes_the_home_page(target):
    assert safe_next(target) == "/"
