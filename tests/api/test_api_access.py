"""Who may do what through the API: the authorization matrix of every API route against every kind of caller,
revocation the gateway does not do, and the API and the pages keeping their credentials apart."""

import time
import uuid

import pytest

from tests.api.conftest import PREFIX, ApiClient, claims
from tests.support.forms import USER, csrf

GOOD = {"title": "Matrix", "status": "open"}


def routes(record_url):
    """Every API operation, with what it sends."""
    return [
        ("GET", "/api/v1/me", {}),
        ("GET", "/api/v1/records", {}),
        ("POST", "/api/v1/records", {"json": GOOD}),
        ("GET", record_url, {}),
        ("PATCH", record_url, {"json": {"title": "Changed"}, "headers": {"If-Match": '"1"'}}),
        ("GET", f"{record_url}/history", {}),
        ("DELETE", record_url, {"headers": {"If-Match": '"1"'}}),
    ]


WRITES = {"POST", "PATCH", "DELETE"}


@pytest.fixture
def users_record(api_user):
    answer = api_user.post("/api/v1/records", json=GOOD)
    return answer.headers["Location"]


def test_without_the_authorizers_claims_every_route_is_a_401_problem(api_nobody, users_record):
    for method, path, kwargs in routes(users_record):
        answer = api_nobody.open(method, path, **kwargs)
        assert answer.status_code == 401 and answer.get_json()["type"].endswith("/unauthenticated"), (method, path)


def test_a_read_only_token_reads_and_may_not_write(api_reader, users_record):
    for method, path, kwargs in routes(users_record):
        answer = api_reader.open(method, path, **kwargs)
        if method in WRITES:
            assert answer.status_code == 403, (method, path)
            assert f'scope="{PREFIX}/records.write"' in answer.headers["WWW-Authenticate"]
        else:
            assert answer.status_code == 200, (method, path)


def test_a_token_of_another_resource_server_may_do_nothing(app, accounts, users_record):
    outsider = ApiClient(app, claims(accounts[USER], USER, scope="other/records.read other/records.write openid"))
    for method, path, kwargs in routes(users_record):
        assert outsider.open(method, path, **kwargs).status_code == 403, (method, path)


def test_the_owner_may_do_everything_to_their_record(api_user, users_record):
    expected = {"GET": 200, "POST": 201, "PATCH": 200, "DELETE": 412}  # DELETE: the PATCH made version 2
    for method, path, kwargs in routes(users_record):
        assert api_user.open(method, path, **kwargs).status_code == expected[method], (method, path)


def test_another_user_gets_exactly_the_missing_record_answer(api_other, users_record):
    for method, path, kwargs in routes(users_record):
        answer = api_other.open(method, path, **kwargs)
        if path.startswith(users_record):
            assert answer.status_code == 404 and answer.get_json()["type"].endswith("/not-found"), (method, path)
    assert users_record not in str(api_other.get("/api/v1/records").get_json())


def test_an_admin_may_do_everything_to_everyones_records(api_admin, users_record):
    expected = {"GET": 200, "POST": 201, "PATCH": 200, "DELETE": 412}
    for method, path, kwargs in routes(users_record):
        assert api_admin.open(method, path, **kwargs).status_code == expected[method], (method, path)
    listed = api_admin.get("/api/v1/records").get_json()["items"]
    assert any(record["id"] == users_record.rsplit("/", 1)[1] for record in listed)
    assert api_admin.get(f"/api/v1/records?owner={USER}").status_code == 200


def test_a_user_may_not_filter_by_another_owner(api_user):
    answer = api_user.get("/api/v1/records?owner=admin@example.com")
    assert answer.status_code == 403


def test_a_machine_acts_as_itself_and_its_changes_are_audited_under_its_client_id(api_machine, users_record, aws):
    assert api_machine.get(users_record).status_code == 404  # a user's record is not the machine's
    me = api_machine.get("/api/v1/me").get_json()
    assert me["kind"] == "machine" and me["client_id"] == "machine-client-id" and me["admin"] is False
    made = api_machine.post("/api/v1/records", json=GOOD)
    assert made.status_code == 201 and made.get_json()["owner"] == "machine-client-id"
    entries = aws["session"].client("dynamodb").scan(TableName="webapp-audit")["Items"]
    mine = [e for e in entries if e.get("record_id", {}).get("S") == made.get_json()["id"]]
    assert [(e["actor"]["S"], e["actor_email"]["S"]) for e in mine] == [
        ("machine-client-id", "api-client:machine-client-id")
    ]


@pytest.mark.parametrize(
    "groups", ["[admin]", "[admin editors]", '["admin","editors"]', "admin,editors", "[editors admin]"]
)
def test_the_admin_group_is_read_whichever_way_the_authorizer_flattens_it(app, accounts, groups):
    caller = ApiClient(app, claims(accounts["admin@example.com"], "admin@example.com", groups=groups))
    assert caller.get("/api/v1/me").get_json()["admin"] is True


@pytest.mark.parametrize("groups", ["[administrators]", "[]", "", "[editors]"])
def test_a_group_that_only_looks_like_admin_is_not_admin(app, accounts, groups):
    caller = ApiClient(app, claims(accounts[USER], USER, groups=groups))
    assert caller.get("/api/v1/me").get_json()["admin"] is False


def test_tokens_issued_before_sign_out_everywhere_are_refused(app, accounts, api_user, user, monkeypatch):
    from webapp.api import identity

    monkeypatch.setattr(identity, "REVOCATION_CACHE_SECONDS", 0)
    api_user.claims = api_user.claims | {"iat": str(int(time.time()) - 5)}
    assert api_user.get("/api/v1/me").status_code == 200
    assert user.post("/account/sign-out-everywhere", data={"csrf_token": csrf(user)}).status_code == 302
    refused = api_user.get("/api/v1/me")
    assert refused.status_code == 401 and refused.get_json()["type"].endswith("/token-revoked")
    fresh = ApiClient(app, claims(accounts[USER], USER, iat=str(int(time.time()) + 1)))
    assert fresh.get("/api/v1/me").status_code == 200  # a token issued afterwards works


def test_a_demoted_admins_older_tokens_are_refused(app, accounts, admin, aws, monkeypatch):
    from webapp.api import identity

    monkeypatch.setattr(identity, "REVOCATION_CACHE_SECONDS", 0)
    cognito = aws["session"].client("cognito-idp")
    pool = aws["COGNITO_USER_POOL_ID"]
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=USER, GroupName="admin")
    token = ApiClient(app, claims(accounts[USER], USER, groups="[admin]", iat=str(int(time.time()) - 5)))
    assert token.get("/api/v1/me").get_json()["admin"] is True
    username = cognito.admin_get_user(UserPoolId=pool, Username=USER)["Username"]
    assert admin.post(f"/admin/users/{username}/demote", data={"csrf_token": csrf(admin)}).status_code == 302
    assert token.get("/api/v1/me").status_code == 401


def test_the_revocation_read_is_cached_briefly(app, accounts, monkeypatch):
    from webapp.api import identity
    from webapp.sessions import SessionStore

    calls = []
    real = SessionStore.signed_out_at
    monkeypatch.setattr(SessionStore, "signed_out_at", lambda self, sub: calls.append(sub) or real(self, sub))
    caller = ApiClient(app, claims(f"cache-{uuid.uuid4()}", "c@example.com"))
    for _ in range(3):
        assert caller.get("/api/v1/me").status_code == 200
    assert len(calls) == 1 and identity.REVOCATION_CACHE_SECONDS > 0


def test_the_api_never_takes_the_session_cookie(user):
    answer = user.get("/api/v1/me")  # signed in on the pages, no token
    assert answer.status_code == 401 and answer.mimetype == "application/problem+json"
    posted = user.post("/api/v1/records", json=GOOD)
    assert posted.status_code == 401


def test_a_page_never_takes_a_token(client, accounts):
    authorized = {"serverless.authorizer": {"claims": claims(accounts[USER], USER)}}
    answer = client.get("/records", environ_base=authorized, headers={"Authorization": "Bearer x.y.z"})
    assert answer.status_code == 302 and answer.location.startswith("/auth/login")


def test_the_docs_and_the_document_are_open_and_the_docs_keep_the_csp(client):
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "script-src 'self'" in docs.headers["Content-Security-Policy"]
    assert "<script>" not in docs.get_data(as_text=True)  # no inline script: the viewer starts from a file
    assert client.get("/api/v1/openapi.json").get_json()["openapi"] == "3.1.0"


def test_a_users_email_is_looked_up_once_for_the_audit_as_access_tokens_carry_none(api_user, app, monkeypatch):
    from webapp.api import identity
    from webapp.cognito import Cognito

    identity._emails.clear()
    looked_up = []
    real = Cognito.verified_email
    monkeypatch.setattr(Cognito, "verified_email", lambda self, name: looked_up.append(name) or real(self, name))
    made = api_user.post("/api/v1/records", json=GOOD).get_json()
    assert made["owner_email"] == USER
    assert api_user.get("/api/v1/me").get_json()["email"] == USER
    assert len(looked_up) == 1  # cached for the next requests
