"""The hosted login's client: PKCE per RFC 7636, the URLs it builds, and clear errors."""

from urllib.parse import parse_qs, urlsplit

import pytest

from webapp.auth.oauth import Attempt, HostedLogin, OAuthError


def test_the_code_challenge_is_s256_of_the_verifier_as_in_rfc_7636():
    attempt = Attempt("state", "nonce", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    assert attempt.code_challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_every_attempt_is_fresh():
    first, second = Attempt.new(), Attempt.new()
    assert len({first.state, second.state, first.nonce, second.nonce}) == 4
    assert first.code_verifier != second.code_verifier
    assert 43 <= len(first.code_verifier) <= 128


def test_sign_up_goes_to_the_hosted_sign_up_page_with_the_same_protections():
    client = HostedLogin("https://app.auth.eu-west-1.amazoncognito.com/", "client", scopes="openid email")
    url = urlsplit(client.authorize_url(Attempt.new(), "https://app.example/auth/callback", screen="signup"))
    query = parse_qs(url.query)
    assert (url.netloc, url.path) == ("app.auth.eu-west-1.amazoncognito.com", "/signup")
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["openid email"]


def test_the_logout_url_names_the_client_and_where_to_come_back():
    url = HostedLogin("https://app.auth.example", "client").logout_url("https://app.example/")
    assert url == "https://app.auth.example/logout?client_id=client&logout_uri=https%3A%2F%2Fapp.example%2F"


def test_an_unreachable_token_endpoint_is_an_oauth_error_not_a_crash():
    client = HostedLogin("http://127.0.0.1:9", "client")  # the discard port: nothing listens
    with pytest.raises(OAuthError) as raised:
        client.refresh("a-refresh-token")
    assert raised.value.error == "unreachable"
