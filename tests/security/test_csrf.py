"""CSRF, and what requests may write: every POST route refuses a request without a valid token of the
visitor's own session with the app's 400 page and writes nothing; every GET route writes nothing but the
visitor's session activity, and sends nothing through SNS.

"Nothing" is checked against the whole emulated account: every item of every DynamoDB table (scanned
through the API), the SNS topic, its subscriptions with their attributes and every message and SMS moto
received, and the Cognito users with their groups, compared before and after, attribute by attribute. The
app's own AWS calls are recorded too, so that even a write that leaves no trace (a failed publish, a
sign-out at Cognito) is seen.

The routes, their URL arguments and complete forms come from test_authorization: each refused POST is one
that an allowed visitor's valid token would have carried through (test_authorization shows it does). Last, a
property test tampers with the token itself, on every POST route (tests/support/sending.py's POST_ROUTES).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer

from tests.security.test_authorization import Stage, Visitor, routes, send, send_id, watching_csrf
from tests.support.forms import ADMIN, ADMIN_PASSWORD, USER, USER_PASSWORD, csrf, signed_in
from tests.support.fuzzing import client_of, fuzz, tampered_tokens
from tests.support.sending import POST_ROUTES, post, received
from tests.support.state import written

SESSION_ACTIVITY = {"last_seen", "expires_at"}  # all SessionStore.touch writes
READS = ("Get", "List", "Describe", "Query", "Scan", "BatchGet", "AdminGet", "AdminList")


# The whole emulated account, as data


class Account:
    """Reads the emulated account through the API (its own clients, not the app's)."""

    def __init__(self, aws: dict) -> None:
        session = aws["session"]
        self.dynamodb = session.client("dynamodb")
        self.sns = session.client("sns")
        self.cognito = session.client("cognito-idp")
        self.pool = aws["COGNITO_USER_POOL_ID"]
        self.keys = {
            name: [part["AttributeName"] for part in self.dynamodb.describe_table(TableName=name)["Table"]["KeySchema"]]
            for name in self._tables()
        }

    def _tables(self) -> list[str]:
        return [name for page in self.dynamodb.get_paginator("list_tables").paginate() for name in page["TableNames"]]

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Section ("dynamodb <table>", "sns ...", "cognito ...") -> key -> value, exactly as read."""
        state: dict[str, dict[str, Any]] = {}
        for name in self._tables():
            items = {}
            for page in self.dynamodb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
                for item in page["Items"]:
                    items[json.dumps({part: item[part] for part in self.keys[name]}, sort_keys=True)] = item
            state[f"dynamodb {name}"] = items
        state["sns topics"] = {
            topic["TopicArn"]: self.sns.get_topic_attributes(TopicArn=topic["TopicArn"])["Attributes"]
            for page in self.sns.get_paginator("list_topics").paginate()
            for topic in page["Topics"]
        }
        state["sns subscriptions"] = {
            found["SubscriptionArn"]: found | self._subscription_attributes(found["SubscriptionArn"])
            for page in self.sns.get_paginator("list_subscriptions").paginate()
            for found in page["Subscriptions"]
        }
        from localaws import outbox  # moto keeps what it received; no AWS API reads it back

        state["sns messages"] = {message["id"]: message for message in outbox.topic_messages()}
        state["sns sms"] = {message["id"]: message for message in outbox.sms_messages()}
        state["cognito users"] = {
            user["Username"]: user
            for page in self.cognito.get_paginator("list_users").paginate(UserPoolId=self.pool)
            for user in page["Users"]
        }
        state["cognito groups"] = {
            group["GroupName"]: sorted(
                user["Username"]
                for page in self.cognito.get_paginator("list_users_in_group").paginate(
                    UserPoolId=self.pool, GroupName=group["GroupName"]
                )
                for user in page["Users"]
            )
            for page in self.cognito.get_paginator("list_groups").paginate(UserPoolId=self.pool)
            for group in page["Groups"]
        }
        return state

    def _subscription_attributes(self, arn: str) -> dict[str, Any]:
        if not arn.startswith("arn:"):  # PendingConfirmation: no attributes to read
            return {}
        return {"attributes": self.sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]}


def differences(before: dict, after: dict) -> Iterator[tuple[str, str, set[str] | None]]:
    """(section, key, changed attribute names) for each changed item; None for one added or removed."""
    for section in sorted(before.keys() | after.keys()):
        old, new = before.get(section, {}), after.get(section, {})
        for key in sorted(old.keys() | new.keys()):
            if key not in old or key not in new:
                yield section, key, None
            elif old[key] != new[key]:
                if isinstance(old[key], dict) and isinstance(new[key], dict):
                    names = old[key].keys() | new[key].keys()
                    yield section, key, {name for name in names if old[key].get(name) != new[key].get(name)}
                else:
                    yield section, key, set()


def described(section: str, key: str, changed: set[str] | None, before: dict, after: dict) -> str:
    if changed is None:
        return f"{section}: {key} was {'added' if key not in before.get(section, {}) else 'removed'}"
    return f"{section}: {key} changed {sorted(changed) or 'its value'}"


@contextlib.contextmanager
def recording_aws_calls(app: Any) -> Iterator[list[tuple[str, str, str, str]]]:
    """Every call the app makes to DynamoDB, SNS and Cognito: (service, operation, table, item key), the last
    two "" when the call has none."""
    from webapp import aws as app_aws

    calls: list[tuple[str, str, str, str]] = []
    patched = []
    with app.app_context():
        for service in ("dynamodb", "sns", "cognito-idp"):
            client = app_aws.client(service)
            original = client._make_api_call

            def record(operation, params, original=original, service=service):
                key = json.dumps(params["Key"], sort_keys=True) if "Key" in params else ""
                calls.append((service, operation, params.get("TableName", ""), key))
                return original(operation, params)

            client._make_api_call = record
            patched.append((client, original))
    try:
        yield calls
    finally:
        for client, original in patched:
            client._make_api_call = original


def writes(calls: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
    return [call for call in calls if not call[1].startswith(READS)]


# The world the requests run in


def furnish(stage: Stage, user: Visitor, admin: Visitor) -> None:
    """Something in every table, in SNS and in the audit log, so that "unchanged" says something."""
    stage.record()
    stage.fresh_record(deleted=True)
    posts = [
        (user, "/account/subscriptions", {"protocol": "email", "endpoint": "alerts@example.net"}),
        (user, "/account/record-events", {"record_events": "on"}),
        (admin, "/notifications/message-templates", {"name": "Outage", "subject": "Outage", "message": "Back soon"}),
        (admin, "/notifications/send", {"send_id": send_id(stage), "audience": "all", "subject": "S", "message": "M"}),
        (admin, f"/admin/users/{stage.throwaway_user()}/promote", {}),
    ]
    for visitor, path, form in posts:
        answer = visitor.client.post(path, data=form | {"csrf_token": visitor.token})
        assert answer.status_code in (302, 303), (path, answer.status_code)  # 303: post/redirect/get
    for visitor in (user, admin):
        visitor.client.get("/account")  # shows (and so removes) the flash messages: no session write left over


def visitors(app: Any, aws: dict) -> tuple[Stage, Visitor, Visitor]:
    """The stage, the seed user and the seed admin, signed in, in a furnished account."""
    stage = Stage(app, aws)
    user = Visitor("user", "the user", app, USER, USER_PASSWORD)
    admin = Visitor("admin", "the admin", app, ADMIN, ADMIN_PASSWORD)
    furnish(stage, user, admin)
    return stage, user, admin


# Every POST without a valid token


def tampered(token: str) -> str:
    """The token with its first character changed: its payload no longer matches its signature. (Not the last
    character: base64's unused low bits there can leave the signature's bytes as they were.)"""
    return ("J" if token[0] != "J" else "K") + token[1:]


def bad_tokens(visitor: Visitor, someone_else: Visitor) -> list[tuple[str, str | None]]:
    """The ways a POST can come without a valid token of the visitor's own session."""
    again = signed_in(visitor.app, visitor.email, visitor.password)  # the same account, another session
    return [
        ("without a token", None),
        ("with an empty token", ""),
        (f"with the token of {someone_else.name}'s session", someone_else.token),
        ("with the token of another session of the same account", csrf(again)),
        ("with a tampered token", tampered(visitor.token or "")),
    ]


def refusals_of_every_post(app: Any, aws: dict, visitor: Visitor, someone_else: Visitor, stage: Stage) -> list[str]:
    """Each POST route, each bad token: the app's 400 page, a CSRF refusal, no write call; and the whole
    account the same after all of them as before."""
    from webapp.errors import FORM_EXPIRED

    cases = [
        case
        for rule, method in routes(app)
        if method != "GET" and not rule.rule.startswith("/api/")  # the API takes no cookie: no CSRF to forge
        for case in stage.cases(rule, method, visitor)
    ]
    tokens = bad_tokens(visitor, someone_else)
    title, message = FORM_EXPIRED  # a signed-in visitor's refused form says what happened and what to do
    account = Account(aws)
    failures: list[str] = []
    before = account.snapshot()
    with watching_csrf() as refusals, recording_aws_calls(app) as calls:
        for case in cases:
            for how, token in tokens:
                refusals.take()
                calls.clear()
                answer = send(visitor.client, case, token)
                page = answer.get_data(as_text=True)
                where = f"{case.method} {case.path} as {visitor.name} {how}"
                if answer.status_code != 400 or title not in page or message not in page:
                    failures.append(f"{where}: {answer.status_code}, not the 400 page")
                elif not refusals.take():
                    failures.append(f"{where}: a 400, but not the CSRF check's")
                failures += [f"{where}: called {service} {operation}" for service, operation, *_ in writes(calls)]
    after = account.snapshot()
    failures += [
        f"POSTs as {visitor.name} wrote: " + described(*change, before, after) for change in differences(before, after)
    ]
    assert len(cases) * len(tokens) >= 5 * 20, cases  # every POST route, five ways
    return failures


def test_every_post_route_refuses_a_user_without_a_valid_token_with_the_400_page_and_writes_nothing(
    app, aws, accounts, monkeypatch
):
    monkeypatch.setattr("webapp.sessions.TOUCH_INTERVAL_SECONDS", 10**9)  # no activity write: nothing at all
    stage, user, admin = visitors(app, aws)
    failures = refusals_of_every_post(app, aws, user, admin, stage)
    assert not failures, "\n".join(failures)


def test_every_post_route_refuses_an_admin_without_a_valid_token_with_the_400_page_and_writes_nothing(
    app, aws, accounts, monkeypatch
):
    monkeypatch.setattr("webapp.sessions.TOUCH_INTERVAL_SECONDS", 10**9)
    stage, user, admin = visitors(app, aws)
    failures = refusals_of_every_post(app, aws, admin, user, stage)
    assert not failures, "\n".join(failures)


# Every GET


def session_key(app: Any, client: Any) -> str:
    """The sessions table's key for the client's session (the hash of the id its cookie carries, signed)."""
    from webapp.sessions import COOKIE_NAME, hash_id

    cookie = client.get_cookie(COOKIE_NAME)
    session_id = app.session_interface._signer(app).unsign(cookie.value).decode("ascii")
    return json.dumps({"sid": {"S": hash_id(session_id)}}, sort_keys=True)


def activity_only(app: Any, key: str, changed: set[str] | None, before: dict, after: dict) -> str:
    """What is wrong with a change to the visitor's own session item ("" when it is only a SessionStore.touch:
    last_seen moved forward to now, expires_at = min(last_seen + idle timeout, created_at + absolute limit))."""
    if changed is None or not changed <= SESSION_ACTIVITY:
        return f"its session item changed {sorted(changed) if changed else 'whole'}, not only its activity"
    old, new = before[key], after[key]
    last_seen, created_at = int(new["last_seen"]["N"]), int(new["created_at"]["N"])
    idle, absolute = app.config["SESSION_IDLE_MINUTES"] * 60, app.config["SESSION_MAX_HOURS"] * 3600
    if last_seen < int(old["last_seen"]["N"]):
        return "its session's last_seen went back"
    if int(new["expires_at"]["N"]) != min(last_seen + idle, created_at + absolute):
        return f"its session's expires_at {new['expires_at']['N']} is not the idle or absolute limit"
    return ""


def side_effects_of_every_get(app: Any, aws: dict, visitor: Visitor, stage: Stage) -> list[str]:
    """Each GET route: no write call but the touch of the visitor's own session; and, after all of them, the
    whole account as it was but for that session item's activity."""
    cases = [case for rule, method in routes(app) if method == "GET" for case in stage.cases(rule, method, visitor)]
    account = Account(aws)
    sessions = app.config["SESSIONS_TABLE"]
    own = session_key(app, visitor.client)
    failures: list[str] = []
    before = account.snapshot()
    with recording_aws_calls(app) as calls:
        for case in cases:
            calls.clear()
            answer = send(visitor.client, case, None)
            where = f"GET {case.path} as {visitor.name} ({answer.status_code})"
            if answer.status_code >= 500:
                failures.append(f"{where}: a server error")
            for service, operation, table, key in writes(calls):
                if (service, operation, table, key) != ("dynamodb", "UpdateItem", sessions, own):
                    failures.append(f"{where}: called {service} {operation} {table} {key}".rstrip())
    after = account.snapshot()
    for section, key, changed in differences(before, after):
        if section == f"dynamodb {sessions}" and key == own:
            problem = activity_only(app, key, changed, before[section], after[section])
        else:
            problem = described(section, key, changed, before, after)
        if problem:
            failures.append(f"GETs as {visitor.name}: {problem}")
    assert len(cases) >= 20, cases
    return failures


def with_every_get_touching_the_session(monkeypatch) -> None:
    """SessionStore.touch on every request rather than once a minute, so that the one write a GET may make
    happens, and is checked, on every case."""
    monkeypatch.setattr("webapp.sessions.TOUCH_INTERVAL_SECONDS", 0)


def test_every_get_route_visited_by_a_user_writes_nothing_but_their_session_activity_and_sends_nothing(
    app, aws, accounts, monkeypatch
):
    stage, user, _ = visitors(app, aws)
    with_every_get_touching_the_session(monkeypatch)
    failures = side_effects_of_every_get(app, aws, user, stage)
    assert not failures, "\n".join(failures)


def test_every_get_route_visited_by_an_admin_writes_nothing_but_their_session_activity_and_sends_nothing(
    app, aws, accounts, monkeypatch
):
    stage, _, admin = visitors(app, aws)
    with_every_get_touching_the_session(monkeypatch)
    failures = side_effects_of_every_get(app, aws, admin, stage)
    assert not failures, "\n".join(failures)


# Every POST route, the token fuzzed: a forged one is refused and writes nothing (on the module's stack)


def test_a_forged_csrf_token_is_refused_on_every_post_route_and_writes_nothing(stack, records):
    pool = stack.settings["COGNITO_USER_POOL_ID"]
    username = stack.session.client("cognito-idp").admin_get_user(UserPoolId=pool, Username=USER)["Username"]
    real = stack.csrf(stack.user)
    tokens = URLSafeTimedSerializer(stack.app.secret_key, salt="wtf-csrf-token")

    def verifies(token: str | None) -> bool:
        try:
            return token is not None and tokens.loads(received(token)) == tokens.loads(real)
        except Exception:
            return False

    @fuzz(40)
    @given(route=st.sampled_from(POST_ROUTES), token=st.none() | tampered_tokens(real))
    def check(route, token):
        assume(not verifies(token))  # the same token spelled another way (signatures are malleable)
        role, path = route
        path = path.format(record=records["user"], username=username, client="any-client-id")
        before = written(stack)
        fields = {"title": "Forged", "status": "open", "email": "forged@example.com", "protocol": "email"}
        response = post(client_of(stack, role), path, fields | ({"csrf_token": token} if token is not None else {}))
        assert response.status_code == 400, (path, response.status_code)
        assert 'class="navbar' in response.get_data(as_text=True)  # an error page in the layout
        assert written(stack) == before

    check()
