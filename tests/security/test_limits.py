"""Limits: request bodies over the configured cap, page sizes, search lengths, cursors, huge query strings and
URLs. Each is refused with a clear error page in the site layout (never a traceback, never a 5xx), and a
refused request writes nothing.
"""

from __future__ import annotations

import io

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.support.forms import USER
from tests.support.sending import POST_ROUTES, assert_error_page, form_body, get, post
from tests.support.state import written


@pytest.fixture(scope="module")
def targets(stack):
    """A record of the user's and the user's Cognito username, for the routes that name them."""
    from itsdangerous import URLSafeSerializer

    token = URLSafeSerializer(stack.app.secret_key, salt="record-submission").dumps(
        ["6f1c2a9e-5d4b-4c3a-9b8e-7a6f5e4d3c2b", stack.subs[USER]]
    )
    form = {"csrf_token": stack.csrf(stack.user), "submission_id": token, "title": "Limits", "status": "open"}
    created = post(stack.user, "/records/new", form)
    assert created.status_code == 302
    pool = stack.settings["COGNITO_USER_POOL_ID"]
    cognito = stack.session.client("cognito-idp")
    username = cognito.admin_get_user(UserPoolId=pool, Username=USER)["Username"]
    client = cognito.create_user_pool_client(  # a machine client, as the admin console makes them
        UserPoolId=pool,
        ClientName="api-limits",
        GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=["dashboard/records.read"],
    )["UserPoolClient"]["ClientId"]
    return {"record": created.location.rsplit("/", 1)[1], "username": username, "client": client}


def test_the_list_of_post_routes_is_every_post_route_of_the_app(stack):
    routes = {path for _, path in POST_ROUTES}
    for rule in stack.app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.rule.startswith("/api/"):  # the JSON API's: tests/api
            path = rule.rule.replace("<uuid:record_id>", "{record}").replace("<username>", "{username}")
            path = path.replace("<client_id>", "{client}")
            assert path.replace("<name>", "disable") in routes, f"{rule.rule} is not in POST_ROUTES"


def oversized(stack, client, extra: int = 1) -> bytes:
    """A urlencoded body with a valid CSRF token, ``extra`` bytes over the configured cap."""
    head = form_body({"csrf_token": stack.csrf(client), "title": "Big", "filler": ""})
    return head + b"a" * (stack.app.config["MAX_CONTENT_LENGTH"] + extra - len(head))


@pytest.mark.parametrize(("role", "route"), POST_ROUTES)
@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_body_over_the_cap_is_the_413_page_on_every_post_route_and_writes_nothing(
    stack, targets, role, route, encoding
):
    client = getattr(stack, role)
    path = route.format(**targets)
    before = written(stack)
    if encoding == "urlencoded":
        response = client.post(path, data=oversized(stack, client), content_type="application/x-www-form-urlencoded")
    else:
        upload = FileStorage(io.BytesIO(b"z" * (stack.app.config["MAX_CONTENT_LENGTH"] + 1)), "big.bin")
        response = post_multipart(client, path, {"csrf_token": stack.csrf(client), "upload": upload})
    assert_error_page(response, 413, "Request too large")
    assert written(stack) == before
    assert client.get("/account").status_code == 200  # still signed in: nothing about the session changed


def post_multipart(client, path: str, fields: dict):
    """POST ``fields`` as multipart/form-data encoded in memory (the test client would spool a large body to
    a temporary file that nobody closes when the app refuses to read it)."""
    boundary, body = encode_multipart(fields)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_a_body_at_the_cap_is_read_and_one_byte_more_is_not(stack):
    at_cap = stack.user.post(
        "/records/new", data=oversized(stack, stack.user, extra=0), content_type="application/x-www-form-urlencoded"
    )
    assert at_cap.status_code == 400  # read, and refused for what it says: no form id
    assert "Request too large" not in at_cap.get_data(as_text=True)
    over = stack.user.post(
        "/records/new", data=oversized(stack, stack.user, extra=1), content_type="application/x-www-form-urlencoded"
    )
    assert_error_page(over, 413, "Request too large")


def test_a_multipart_form_with_too_many_parts_or_too_large_a_field_is_the_413_page(stack):
    token = stack.csrf(stack.user)
    before = written(stack)
    parts = {"csrf_token": token} | {f"field{n}": "x" for n in range(stack.app.config["MAX_FORM_PARTS"] + 1)}
    response = post_multipart(stack.user, "/records/new", parts)
    assert_error_page(response, 413, "Request too large")
    field = {"csrf_token": token, "notes": "n" * (stack.app.config["MAX_FORM_MEMORY_SIZE"] + 1)}
    response = post_multipart(stack.user, "/records/new", field)
    assert_error_page(response, 413, "Request too large")
    assert written(stack) == before


@pytest.mark.parametrize("size", ["0", "4", "101", "1000", "99999999999999999999", "-5", "5.0", "1e2", "0x10", "²"])
@pytest.mark.parametrize("path", ["/records"])
def test_a_page_size_outside_5_to_100_is_the_400_page(stack, path, size):
    assert_error_page(get(stack.user, path, {"size": size}), 400, "Bad request")


@pytest.mark.parametrize("size", ["5", "100", "020"])
def test_a_page_size_inside_the_range_is_a_page(stack, size):
    assert get(stack.user, "/records", {"size": size}).status_code == 200


@pytest.mark.parametrize(
    ("role", "path", "name"),
    [("user", "/records", "q"), ("admin", "/admin/users", "q"), ("admin", "/admin/audit", "who")],
)
def test_a_search_over_100_characters_is_the_400_page_and_100_is_a_page(stack, role, path, name):
    client = getattr(stack, role)
    assert_error_page(get(client, path, {name: "x" * 101}), 400, "Bad request")
    assert get(client, path, {name: "x" * 100}).status_code == 200
    assert get(client, path, {name: "\U0001f600" * 100}).status_code == 200  # characters, not bytes


def test_a_records_search_is_measured_after_its_spaces_are_collapsed(stack):
    assert get(stack.user, "/records", {"q": "a" + " " * 500 + "b"}).status_code == 200


def paged_pages(targets):
    return [
        ("user", "/records"),
        ("user", "/inbox"),
        ("user", f"/records/{targets['record']}/history"),
        ("admin", "/records/deleted"),
        ("admin", "/admin/audit"),
        ("admin", "/admin/users"),
        ("admin", "/admin/api-clients"),
        ("admin", "/notifications/history"),
        ("admin", "/notifications/subscriptions"),
    ]


@pytest.mark.parametrize("index", range(9))
def test_a_10_kb_cursor_is_the_400_page_on_every_paged_page(stack, targets, index):
    role, path = paged_pages(targets)[index]
    assert_error_page(get(getattr(stack, role), path, {"cursor": "A" * 10_240}), 400, "Bad request")


def get_pages(targets):
    """Every page a GET reaches, with the account that may see it."""
    return [
        ("user", "/"),
        ("user", "/records"),
        ("user", "/records/export.csv"),
        ("user", "/records/new"),
        ("user", f"/records/{targets['record']}"),
        ("user", f"/records/{targets['record']}/edit"),
        ("user", f"/records/{targets['record']}/delete"),
        ("user", f"/records/{targets['record']}/history"),
        ("user", "/account"),
        ("user", "/account/two-step"),
        ("user", "/account/two-step/setup"),
        ("user", "/account/two-step/required"),
        ("user", "/inbox"),
        ("user", "/api/docs"),
        ("user", "/api/v1/openapi.json"),
        ("user", "/auth/login"),
        ("user", "/auth/signup"),
        ("user", "/healthz"),
        ("user", "/status"),
        ("user", "/account/sign-out-everywhere"),
        ("admin", "/records/deleted"),
        ("admin", "/records/owners"),
        ("admin", "/admin/users"),
        ("admin", f"/admin/users/{targets['username']}"),
        ("admin", f"/admin/users/{targets['username']}/delete"),
        ("admin", f"/admin/users/{targets['username']}/disable"),
        ("admin", "/admin/users/invite"),
        ("admin", "/admin/audit"),
        ("admin", "/admin/api-clients"),
        ("admin", "/admin/api-clients/new"),
        ("admin", f"/admin/api-clients/{targets['client']}/delete"),
        ("admin", "/notifications"),
        ("admin", "/notifications/preview"),
        ("admin", "/notifications/start-over"),
        ("admin", "/notifications/sent"),
        ("admin", "/notifications/history"),
        ("admin", "/notifications/message-templates"),
        ("admin", "/notifications/message-templates/edit"),
        ("admin", "/notifications/message-templates/delete"),
        ("admin", "/notifications/sms/preview"),
        ("admin", "/notifications/subscriptions"),
    ]


def test_the_list_of_get_pages_is_every_page_of_the_app(stack, targets):
    pages = {path for _, path in get_pages(targets)}
    for rule in stack.app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.rule.startswith("/static") and rule.rule != "/favicon.ico":
            if rule.rule == "/auth/callback":
                continue  # its own test below: it signs in
            if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi_document":
                continue  # the JSON API's, which takes a token and no session: tests/api
            path = (
                rule.rule.replace("<uuid:record_id>", targets["record"])
                .replace("<username>", targets["username"])
                .replace("<name>", "disable")
                .replace("<client_id>", targets["client"])
            )
            assert path in pages, f"{rule.rule} is not in get_pages"


QUERIES = {
    "5,000 parameters of one name": [("q", str(n)) for n in range(5_000)],
    "5,000 parameters of distinct names": [(f"p{n}", "x") for n in range(5_000)],
    "10,000 empty parameters": [("", "")] * 10_000,
    "an 8 KB value": [("q", "x" * 8_192)],
    "an 8 KB name": [("x" * 8_192, "1")],
}


@pytest.mark.parametrize("query", QUERIES)
def test_a_query_string_with_thousands_of_parameters_or_8_kb_is_never_a_server_error(stack, targets, query):
    before = written(stack)
    for role, path in get_pages(targets):
        with get(getattr(stack, role), path, QUERIES[query]) as response:
            assert response.status_code < 500, (path, response.status_code)
            if response.status_code >= 400:
                assert_error_page(response, response.status_code, "")
    assert written(stack) == before


def test_an_8_kb_url_path_is_a_404_page_never_a_server_error(stack, targets):
    long = "a" * 8_192
    paths = [
        f"/{long}",
        f"/records/{long}",
        f"/records/{targets['record']}/{long}",
        f"/records/{long}/edit",
        f"/admin/users/{long}",
        f"/admin/users/{long}/disable",
        f"/notifications/{long}",
        f"/static/{long}",
        "/records/" + "%C3%A9" * 1_400,
    ]
    for path in paths:
        response = stack.admin.get(path)
        assert response.status_code in (404, 405), (path[:60], response.status_code)  # 405: a POST-only path
        assert_error_page(response, response.status_code, "")
    response = post(stack.admin, f"/admin/users/{long}/disable", {"csrf_token": stack.csrf(stack.admin)})
    assert_error_page(response, 404, "Page not found")


def test_a_callback_with_thousands_of_parameters_or_an_8_kb_code_is_the_400_page(stack):
    anonymous = stack.app.test_client()
    for query in ([("code", "c" * 8_192), ("state", "s" * 8_192)], [("state", str(n)) for n in range(5_000)]):
        assert_error_page(get(anonymous, "/auth/callback", query), 400, "")
    assert anonymous.get("/account").status_code == 302  # still signed out
