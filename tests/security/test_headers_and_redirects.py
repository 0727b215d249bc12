"""Security headers on every response the app sends, cookie flags, and redirects that never leave the site,
whatever a `next` parameter says."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from tests.support.forms import ADMIN, USER, USER_PASSWORD, hidden


def get_routes(app, record_id: str) -> list[str]:
    """Every GET page in the URL map, with its arguments filled in (a new page is covered by itself)."""
    arguments = {
        "record_id": record_id,
        "username": ADMIN,
        "filename": "app.css",
        "client_id": "no-such-client",
        "name": "disable",
    }
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods:
            paths.append(rule.build({name: arguments[name] for name in rule.arguments}, append_unknown=False)[1])
    return sorted(paths)


def new_record(client) -> str:
    form = client.get("/records/new").get_data(as_text=True)
    data = {"csrf_token": hidden(form, "csrf_token"), "submission_id": hidden(form, "submission_id")}
    answer = client.post("/records/new", data=data | {"title": "Headers", "status": "open"})
    return answer.location.rsplit("/", 1)[1]


def assert_security_headers(response, path: str) -> list[str]:
    """What is wrong with this response's headers ([] when nothing)."""
    problems = []
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    script_src = re.search(r"script-src ([^;]*)", policy)
    if not script_src or "unsafe-inline" in script_src.group(1) or "unsafe-eval" in policy:
        problems.append(f"{path}: CSP allows inline script or has none: {policy!r}")
    if "frame-ancestors 'none'" not in policy or "object-src 'none'" not in policy:
        problems.append(f"{path}: CSP lacks frame-ancestors/object-src 'none'")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"{path}: no nosniff")
    if headers.get("Referrer-Policy") != "strict-origin-when-cross-origin":
        problems.append(f"{path}: Referrer-Policy {headers.get('Referrer-Policy')!r}")
    if not headers.get("Strict-Transport-Security", "").startswith("max-age=31536000"):
        problems.append(f"{path}: no HSTS over https")
    return problems


def test_every_page_for_every_visitor_carries_the_security_headers_and_signed_in_pages_are_not_stored(
    app, user, admin, client
):
    record_id = new_record(user)
    problems = []
    for who, visitor in (("anonymous", client), ("user", user), ("admin", admin)):
        for path in [*get_routes(app, record_id), "/no-such-page", "/records/not-a-uuid"]:
            response = visitor.get(path, base_url="https://localhost")
            response.close()  # static files are streamed from disk
            assert response.status_code < 500, (who, path, response.status_code)
            problems += assert_security_headers(response, f"{who} {path}")
            signed_in_page = who != "anonymous" and not path.startswith(("/static", "/healthz", "/favicon"))
            if signed_in_page and "no-store" not in response.headers.get("Cache-Control", ""):
                problems.append(f"{who} {path}: a signed-in page without Cache-Control: no-store")
    assert problems == []


def test_error_answers_carry_the_headers_too(app, client):
    answers = {
        "405": client.put("/", base_url="https://localhost"),
        "400 csrf": client.post("/auth/logout", base_url="https://localhost"),
        "413": client.post(
            "/auth/logout", data="x" * (app.config["MAX_CONTENT_LENGTH"] + 1), base_url="https://localhost"
        ),
    }
    problems = [problem for name, response in answers.items() for problem in assert_security_headers(response, name)]
    assert problems == []
    assert {name: response.status_code for name, response in answers.items()} == {
        "405": 405,
        "400 csrf": 400,
        "413": 413,
    }


def test_hsts_is_not_sent_over_plain_http(client):
    assert "Strict-Transport-Security" not in client.get("/").headers


def cookie_flags(response, name: str) -> list[str]:
    [cookie] = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(f"{name}=")]
    return [part.strip().lower() for part in cookie.split(";")]


def test_the_session_cookie_is_httponly_secure_over_https_samesite_lax_and_holds_no_token(app, accounts):
    from tests.support.forms import csrf, signed_in

    client = signed_in(app, USER, USER_PASSWORD)
    response = client.post(
        "/account/record-events",
        data={"csrf_token": csrf(client), "record_events": "on"},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/account"},  # Flask-WTF checks it over https
    )
    flags = cookie_flags(response, "sid")
    assert "httponly" in flags and "secure" in flags and "samesite=lax" in flags
    assert len(flags[0]) < 100  # an opaque signed id, never a token


def test_the_sign_in_attempt_cookie_is_httponly_secure_samesite_lax_for_auth_only_and_holds_no_secret(app):
    response = app.test_client().get("/auth/login", base_url="https://localhost")
    assert [value.split("=")[0] for value in response.headers.getlist("Set-Cookie")] == ["signin"]
    flags = cookie_flags(response, "signin")
    assert "httponly" in flags and "secure" in flags and "samesite=lax" in flags and "path=/auth/" in flags
    params = dict(part.split("=", 1) for part in urlsplit(response.location).query.split("&"))
    assert params["nonce"] not in flags[0]  # the attempt's secrets are derived at the callback, never stored
    assert len(flags[0]) < 400


OFF_SITE = [
    "//evil.example",
    "///evil.example",
    "https://evil.example/",
    "http:/evil.example",
    "https:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/%2F%2Fevil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%252F%252Fevil.example",
    "/\t/evil.example",
    "/%09/evil.example",
    "/%0d%0aLocation:%20https://evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/" + "a" * 5000,
]


def stays_on_site(location: str) -> bool:
    parts = urlsplit(location)
    return parts.netloc in ("", "localhost") and location.count("//") <= (1 if parts.scheme else 0)


def test_next_never_sends_a_signed_in_visitor_off_site(user):
    landed = [user.get(f"/auth/login?next={quote(target, safe='%')}") for target in OFF_SITE]
    assert all(response.status_code == 302 for response in landed)
    assert [r.location for r in landed if not stays_on_site(r.location) or "evil" in r.location] == []


def test_next_never_sends_anyone_off_site_after_signing_in(app, accounts):
    from tests.support.forms import HostedLoginBrowser

    landed = []
    for target in OFF_SITE:
        visitor = HostedLoginBrowser(app.test_client())
        response = visitor.sign_in(USER, USER_PASSWORD, path=f"/auth/login?next={quote(target, safe='%')}")
        landed.append((target, response.location))
    assert [(target, location) for target, location in landed if location != "/"] == []


def test_sign_out_goes_only_to_the_hosted_logout_which_comes_back_here(app, user):
    token = hidden(user.get("/account").get_data(as_text=True), "csrf_token")
    response = user.post("/auth/logout?next=https://evil.example", data={"csrf_token": token, "next": "//evil"})
    assert response.status_code == 302
    target = urlsplit(response.location)
    assert f"{target.scheme}://{target.netloc}" == app.config["COGNITO_DOMAIN"] and target.path == "/logout"
    assert "evil" not in response.location and "logout_uri=http%3A%2F%2Flocalhost%2F" in response.location


def test_a_user_with_the_plain_email_as_next_is_not_confused(user):
    assert user.get(f"/auth/login?next={quote(USER)}").location == "/"
