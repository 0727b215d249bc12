"""Who may do what, route by route: every rule of the URL map, each method it accepts, four visitors
(anonymous, a user, another user, an admin), checked against one declared table, RULES.

A route missing from RULES fails by name, so a new page cannot ship without someone deciding who may use
it. POSTs carry a valid CSRF token of the visitor's own session (taken from a page, as a browser would), so
what is checked is authorization, not CSRF; a CSRF refusal is told apart from a form's own 400 by the line
flask-wtf logs. Anonymous visitors have no page that gives them a token, so the CSRF check (which runs
before the sign-in gate) refuses every anonymous POST with the 400 page; an anonymous session holding a
token is also tried, to show that the sign-in gate still stands behind CSRF.

Each test walks the whole map for one visitor and reports every wrong answer at once. POSTs that change
something act on records and Cognito users made for that one case, and the POSTs that end the visitor's
session run last.
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.forms import ADMIN, ADMIN_PASSWORD, USER, USER_PASSWORD, csrf, hidden, signed_in
from tests.support.records import GOOD, create, new_form

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed_in"  # any signed-in user
OWNER = "owner"  # one record: its owner and admins; anyone else gets exactly what a missing record gets
ADMIN_ONLY = "admin"  # admins; 403 for everyone else signed in
# The JSON API: an access token's claims from API Gateway's authorizer, never a session (its own matrix of
# callers, scopes and owners is tests/api/test_api_access.py; here, every visitor's cookie gets a 401 problem).
API_TOKEN = "api token"

RULES = {
    "api.openapi_document": PUBLIC,
    "api.docs": PUBLIC,
    "api.me": API_TOKEN,
    "api.list_records": API_TOKEN,
    "api.create_record": API_TOKEN,
    "api.get_record": API_TOKEN,
    "api.update_record": API_TOKEN,
    "api.delete_record": API_TOKEN,
    "api.record_history": API_TOKEN,
    "main.index": PUBLIC,  # the landing page, or the dashboard of whoever is signed in
    "main.healthz": PUBLIC,
    "main.status": PUBLIC,  # the footer's "Service status": for people who cannot sign in too
    "main.favicon": PUBLIC,
    "auth.login": PUBLIC,
    "auth.signup": PUBLIC,
    "auth.callback": PUBLIC,
    "auth.logout": PUBLIC,
    "account.index": SIGNED_IN,
    "account.subscribe": SIGNED_IN,
    "account.unsubscribe": SIGNED_IN,
    "account.confirm_phone": SIGNED_IN,
    "mfa.index": SIGNED_IN,
    "mfa.start": SIGNED_IN,
    "mfa.setup": SIGNED_IN,
    "mfa.verify": SIGNED_IN,
    "mfa.remove": SIGNED_IN,
    "mfa.required": SIGNED_IN,
    "account.record_events": SIGNED_IN,
    "account.confirm_sign_out_everywhere": SIGNED_IN,
    "account.sign_out_everywhere": SIGNED_IN,
    "records.index": SIGNED_IN,  # a user's own records; everyone's for an admin
    "records.export": SIGNED_IN,
    "records.create": SIGNED_IN,
    "records.show": OWNER,
    "records.history": OWNER,
    "records.edit": OWNER,
    "records.delete": OWNER,
    "records.deleted": ADMIN_ONLY,
    "records.owners": ADMIN_ONLY,  # the owner picker's emails (JSON): as admin-only as the owner filter it fills
    "records.restore": ADMIN_ONLY,
    "inbox.index": SIGNED_IN,  # the user's own messages: their partition, everyone's, their groups'
    "inbox.read": SIGNED_IN,  # a message of another user's partition is a 404 (tests/functional/test_inbox.py)
    "inbox.read_all": SIGNED_IN,
    "admin.users": ADMIN_ONLY,
    "admin.user": ADMIN_ONLY,
    "admin.invite": ADMIN_ONLY,
    "admin.confirm": ADMIN_ONLY,
    "admin.act": ADMIN_ONLY,
    "admin.audit": ADMIN_ONLY,
    "clients.index": ADMIN_ONLY,
    "clients.create": ADMIN_ONLY,
    "clients.confirm_delete": ADMIN_ONLY,
    "clients.delete": ADMIN_ONLY,
    "notifications.compose": ADMIN_ONLY,
    "notifications.preview": ADMIN_ONLY,
    "notifications.show_preview": ADMIN_ONLY,
    "notifications.start_over": ADMIN_ONLY,
    "notifications.send": ADMIN_ONLY,
    "notifications.sent": ADMIN_ONLY,
    "notifications.preview_sms": ADMIN_ONLY,
    "notifications.show_sms_preview": ADMIN_ONLY,
    "notifications.send_sms": ADMIN_ONLY,
    "notifications.history": ADMIN_ONLY,
    "notifications.message_templates": ADMIN_ONLY,
    "notifications.edit_message_template": ADMIN_ONLY,
    "notifications.confirm_delete_message_template": ADMIN_ONLY,
    "notifications.delete_message_template": ADMIN_ONLY,
    "notifications.subscriptions": ADMIN_ONLY,
    "notifications.remove_subscription": ADMIN_ONLY,
}

# POSTs after which the visitor's session is gone (by design): they run last, each on a fresh sign-in.
ENDS_THE_SESSION = {"auth.logout", "account.sign_out_everywhere"}

# Routes that need a deleted record rather than a live one.
NEEDS_A_DELETED_RECORD = {"records.restore"}

OTHER, OTHER_PASSWORD = "other@example.com", "Other-Passw0rd"
METHODS_NOT_TRIED = {"HEAD", "OPTIONS"}

# What a visitor must get.
ALLOWED = "allowed"  # the route runs: no 401/403/404/405, not sent to sign in, not refused by CSRF
SIGN_IN = "sent to sign in"  # 302 to /auth/login?next=<this path>
REFUSED_BY_CSRF = "refused by CSRF"  # the 400 page, and flask-wtf says why
FORBIDDEN = "403"
AS_MISSING = "what a missing record gets"  # same status and Location as for a record id that does not exist


def expected(rule: str, visitor: str, method: str, with_token: bool) -> str:
    """The answer ``visitor`` must get on a route declared ``rule``."""
    if visitor == "anonymous":
        if method != "GET" and not with_token:
            return REFUSED_BY_CSRF  # the CSRF check runs before the sign-in gate, public routes included
        return ALLOWED if rule == PUBLIC else SIGN_IN
    if rule == ADMIN_ONLY and visitor != "admin":
        return FORBIDDEN
    if rule == OWNER and visitor == "other":
        return AS_MISSING
    return ALLOWED


def routes(app: Any) -> list[tuple[Any, str]]:
    """Every (rule, method) of the URL map but static files, HEAD and OPTIONS; the session-ending ones last."""
    found = [
        (rule, method)
        for rule in sorted(app.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint))
        if rule.endpoint != "static"
        for method in sorted(rule.methods - METHODS_NOT_TRIED)
    ]
    return sorted(found, key=lambda pair: pair[0].endpoint in ENDS_THE_SESSION)


def unlisted(rule: Any) -> str:
    return f"{rule.endpoint} ({rule.rule}) has no authorization rule: declare who may use it in RULES"


# Watching flask-wtf: it logs why it refused a request, which tells its 400 from any other


class CsrfRefusals(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.reasons: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.reasons.append(record.getMessage())

    def take(self) -> list[str]:
        reasons, self.reasons = self.reasons, []
        return reasons


@contextlib.contextmanager
def watching_csrf() -> Iterator[CsrfRefusals]:
    logger = logging.getLogger("flask_wtf.csrf")
    handler, level = CsrfRefusals(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


# The visitors


def anonymous_with_a_token(app: Any) -> tuple[Any, str]:
    """A client whose (anonymous) session holds a CSRF token, and that token. No page gives an anonymous
    visitor one, so it is put in the session directly, the way flask-wtf itself does it."""
    from flask import session
    from flask_wtf.csrf import generate_csrf

    field_name = app.config["WTF_CSRF_FIELD_NAME"]
    with app.test_request_context():
        token = generate_csrf()
        raw = session[field_name]
    client = app.test_client()
    with client.session_transaction() as stored:
        stored[field_name] = raw
    return client, token


@dataclass
class Visitor:
    """One of the four visitors: its client, and the CSRF token its POSTs carry."""

    kind: str  # anonymous, user, other, admin
    name: str
    app: Any
    email: str = ""
    password: str = ""
    client: Any = None
    token: str | None = None
    with_token: Any = None  # anonymous only: a session holding a token but no user
    its_token: str = ""

    def __post_init__(self) -> None:
        self.start()

    def start(self) -> None:
        """A fresh session: signed in, with the token a page of it carries; or anonymous."""
        if self.email:
            self.client = signed_in(self.app, self.email, self.password)
            self.token = csrf(self.client)
        else:
            self.client = self.app.test_client()
            self.with_token, self.its_token = anonymous_with_a_token(self.app)

    def attempts(self, method: str) -> list[tuple[Any, str | None, str]]:
        """(client, token or None, how it is told in a failure) for each way this visitor sends ``method``."""
        self.ready()
        if method == "GET":
            return [(self.client, None, "")]
        if self.email:
            return [(self.client, self.token, "")]
        return [
            (self.client, None, " without a token (no page gives an anonymous visitor one)"),
            (self.with_token, self.its_token, " with a valid token of an anonymous session"),
        ]

    def ready(self) -> Any:
        """The visitor's client, in a new session when the last one was ended."""
        if self.client is None:
            self.start()
        return self.client

    def is_signed_in(self) -> bool:
        return self.client.get("/account").status_code == 200


def make_account(aws: dict, email: str, password: str) -> str:
    """A confirmed account with a permanent password (as the seed accounts are); returns its username."""
    cognito = aws["session"].client("cognito-idp")
    created = cognito.admin_create_user(
        UserPoolId=aws["COGNITO_USER_POOL_ID"],
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(
        UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=email, Password=password, Permanent=True
    )
    return created["User"]["Username"]


def username_of(aws: dict, email: str) -> str:
    cognito = aws["session"].client("cognito-idp")
    return cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=email)["Username"]


# The URL arguments and forms each case sends


@dataclass
class Case:
    rule: Any
    method: str
    values: dict[str, Any]
    form: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.rule.build(self.values, append_unknown=False)[1]

    def with_values(self, **values: Any) -> Case:
        return Case(self.rule, self.method, self.values | values, self.form)


def send_id(stage: Stage) -> str:
    """A valid single-use send id, as the compose page would give an admin."""
    from webapp.notifications.views import new_send_id

    with stage.app.app_context():
        return new_send_id()


# Complete forms, so that an allowed visitor's POST does what the form is for (no CSRF token: added per visitor).
FORMS: dict[str, Callable[[Stage, Any], dict[str, str]]] = {
    "account.subscribe": lambda stage, client: {"protocol": "email", "endpoint": stage.unique("sub@example.net")},
    "account.unsubscribe": lambda stage, client: {"protocol": "email", "endpoint": "nobody@example.net"},
    "account.confirm_phone": lambda stage, client: {"number": "+447700900123", "code": "123456"},
    "mfa.verify": lambda stage, client: {"code": "123456"},
    "account.record_events": lambda stage, client: {"record_events": "on"},
    "records.create": lambda stage, client: GOOD | {"submission_id": new_form(client)["submission_id"]},
    "records.edit": lambda stage, client: GOOD | {"version": "1", "title": "Changed by the matrix"},
    "records.delete": lambda stage, client: {"version": "1"},
    "admin.invite": lambda stage, client: {"email": stage.unique("invited@example.com")},
    "clients.create": lambda stage, client: {"name": stage.unique("matrix"), "scopes": "dashboard/records.read"},
    "notifications.preview": lambda stage, client: {"audience": "all", "subject": "Matrix", "message": "Hello"},
    "notifications.send": lambda stage, client: {
        "send_id": send_id(stage),
        "audience": "all",
        "subject": "Matrix",
        "message": "Hello",
    },
    "notifications.preview_sms": lambda stage, client: {
        "send_id": send_id(stage),
        "phone": "+447700900123",
        "sms_message": "Hello",
    },
    "notifications.send_sms": lambda stage, client: {
        "send_id": send_id(stage),
        "phone": "+447700900123",
        "sms_message": "Hello",
    },
    "notifications.message_templates": lambda stage, client: {
        "name": stage.unique("Matrix"),
        "subject": "S",
        "message": "M",
    },
    "notifications.edit_message_template": lambda stage, client: {"name": "Matrix", "subject": "S", "message": "M"},
    "notifications.delete_message_template": lambda stage, client: {"name": "Matrix"},
    "notifications.remove_subscription": lambda stage, client: {"arn": f"{stage.aws['SNS_TOPIC_ARN']}:{uuid.uuid4()}"},
    "inbox.read": lambda stage, client: {"message": stage.broadcast()},
    "inbox.read_all": lambda stage, client: {"seen": "all=1"},
}


class Stage:
    """The world the cases run in: the seed user's records and username, throwaway users for admin actions."""

    def __init__(self, app: Any, aws: dict) -> None:
        self.app = app
        self.aws = aws
        self.user_username = username_of(aws, USER)
        self._owner: Any = None
        self._record = ""
        self._api_client = ""
        self._count = 0

    @property
    def owner(self) -> Any:
        """A session of the seed user (not any visitor's) that creates the records the cases use."""
        if self._owner is None:
            self._owner = signed_in(self.app, USER, USER_PASSWORD)
        return self._owner

    def unique(self, text: str) -> str:
        self._count += 1
        name, at, domain = text.partition("@")
        return f"{name}{self._count}{at}{domain}"

    def record(self) -> str:
        """The seed user's record that the GET cases share (no GET changes it)."""
        if not self._record:
            self._record = create(self.owner, title="The user's record")
        return self._record

    def fresh_record(self, deleted: bool = False) -> str:
        record_id = create(self.owner, title="A record for one case")
        if deleted:
            page = self.owner.get(f"/records/{record_id}/delete").get_data(as_text=True)
            answer = self.owner.post(
                f"/records/{record_id}/delete", data={"csrf_token": hidden(page, "csrf_token"), "version": "1"}
            )
            assert answer.status_code == 302, answer.status_code
        return record_id

    def broadcast(self) -> str:
        """A message to everyone, stored as the inbox function stores it (in every visitor's inbox); its id."""
        from webapp.services import inbox

        message_id = str(uuid.uuid4())
        with self.app.app_context():
            inbox.deliver("all", message_id, "Matrix", "Hello", "broadcast", "")
        return message_id

    def throwaway_user(self) -> str:
        return make_account(self.aws, self.unique("throwaway@example.com"), "Throwaway-Passw0rd")

    def api_client(self) -> str:
        """A machine client, as the admin console makes them, that the GET cases share."""
        if not self._api_client:
            self._api_client = self.throwaway_api_client()
        return self._api_client

    def throwaway_api_client(self) -> str:
        cognito = self.aws["session"].client("cognito-idp")
        made = cognito.create_user_pool_client(
            UserPoolId=self.aws["COGNITO_USER_POOL_ID"],
            ClientName=f"api-{self.unique('matrix')}",
            GenerateSecret=True,
            AllowedOAuthFlows=["client_credentials"],
            AllowedOAuthFlowsUserPoolClient=True,
            AllowedOAuthScopes=["dashboard/records.read"],
        )
        return made["UserPoolClient"]["ClientId"]

    def record_item(self, record_id: str) -> dict | None:
        table = self.app.config["RECORDS_TABLE"]
        dynamodb = self.aws["session"].client("dynamodb")
        return dynamodb.get_item(TableName=table, Key={"record_id": {"S": record_id}}, ConsistentRead=True).get("Item")

    def cases(self, rule: Any, method: str, visitor: Visitor) -> list[Case]:
        """The requests to try for ``rule`` and ``method``: one per admin action for ``<name>``; a record of
        its own for each POST; a throwaway user for each admin action an admin does."""
        changes = method != "GET"
        names = [{"name": name} for name in self.action_names()] if "name" in rule.arguments else [{}]
        found = []
        for values in names:
            for argument in sorted(rule.arguments - {"name"}):
                if argument == "record_id":
                    deleted = rule.endpoint in NEEDS_A_DELETED_RECORD
                    values[argument] = self.fresh_record(deleted) if changes or deleted else self.record()
                elif argument == "username":
                    acts = changes and visitor.kind == "admin"
                    values[argument] = self.throwaway_user() if acts else self.user_username
                elif argument == "client_id":
                    acts = changes and visitor.kind == "admin"
                    values[argument] = self.throwaway_api_client() if acts else self.api_client()
                else:
                    raise LookupError(f"{rule.endpoint} ({rule.rule}): no value to try for <{argument}>; add one")
            form = FORMS[rule.endpoint](self, visitor.ready()) if changes and rule.endpoint in FORMS else {}
            found.append(Case(rule, method, values, form))
        return found

    @staticmethod
    def action_names() -> list[str]:
        from webapp.services.users import ACTIONS

        return list(ACTIONS)


# Sending and judging


def send(client: Any, case: Case, token: str | None) -> Any:
    """The request, its answer read whole and closed (a file sent from disk is closed with it)."""
    data = None
    if case.method != "GET":
        data = case.form | ({"csrf_token": token} if token is not None else {})
    answer = client.open(case.path, method=case.method, data=data)
    answer.get_data()
    answer.close()
    return answer


def sent_to_sign_in(answer: Any, path: str | None = None) -> bool:
    """A 302 to /auth/login (with ``next`` = ``path``, when given)."""
    if answer.status_code != 302:
        return False
    target = urlsplit(answer.location)
    if target.netloc or target.path != "/auth/login":
        return False
    return path is None or parse_qs(target.query) == {"next": [path]}


def judge(outcome: str, answer: Any, case: Case, refusals: list[str]) -> str:
    """What is wrong with ``answer`` ("" when nothing)."""
    status = answer.status_code
    if status >= 500:
        return f"{told(answer)}: a server error"
    if outcome == REFUSED_BY_CSRF:
        if status != 400 or not refusals:
            return f"{told(answer)}, expected the CSRF refusal (400)"
        return ""
    if refusals:
        return f"refused by CSRF ({refusals[0]}) although the token was valid; expected {outcome}"
    if outcome == ALLOWED and (status in (401, 403, 404, 405) or sent_to_sign_in(answer)):
        return f"{told(answer)}, expected to be allowed"
    if outcome == SIGN_IN and not sent_to_sign_in(answer, case.path):
        return f"{told(answer)}, expected 302 to /auth/login?next={case.path}"
    if outcome == FORBIDDEN and status != 403:
        return f"{told(answer)}, expected 403"
    return ""


def told(answer: Any) -> str:
    """An answer in a few words: its status, and where it redirects."""
    location = answer.headers.get("Location")
    return f"{answer.status_code} -> {location}" if location else str(answer.status_code)


def answer_of_a_missing_record(client: Any, case: Case, token: str | None, answer: Any) -> str:
    """Another user's record must get exactly what a record that does not exist gets ("" when it does)."""
    missing = send(client, case.with_values(record_id=uuid.uuid4()), token)
    if told(answer) != told(missing):
        return f"{told(answer)}, but a missing record gets {told(missing)}"
    if case.method == "GET" and answer.status_code != 404:
        return f"{answer.status_code}, expected 404"
    if answer.status_code == 404 and page_of(answer) != page_of(missing):
        return "a 404 page that differs from a missing record's"
    return ""


def page_of(answer: Any) -> str:
    """The page, but for the CSRF token of its sign-out form (re-signed, with a timestamp, on every page)."""
    return re.sub(r'(name="csrf_token" value=")[^"]*', r"\1…", answer.get_data(as_text=True))


def walk(stage: Stage, visitor: Visitor) -> tuple[list[str], int]:
    """Try every route of the URL map as ``visitor``; returns the failures and how many requests were judged."""
    failures: list[str] = []
    tried = 0
    with watching_csrf() as refusals:
        for rule, method in routes(stage.app):
            declared = RULES.get(rule.endpoint)
            if declared is None:
                if unlisted(rule) not in failures:
                    failures.append(unlisted(rule))
                continue
            if declared == API_TOKEN:
                continue  # no visitor's session is a caller there: test_the_api_takes_no_visitors_session
            try:
                cases = stage.cases(rule, method, visitor)
            except LookupError as error:
                failures.append(str(error))
                continue
            for case in cases:
                for client, token, how in visitor.attempts(method):
                    outcome = expected(declared, visitor.kind, method, token is not None)
                    before = stage.record_item(case.values["record_id"]) if outcome == AS_MISSING else None
                    refusals.take()
                    answer = send(client, case, token)
                    problem = judge(outcome, answer, case, refusals.take())
                    if not problem and outcome == AS_MISSING:
                        problem = answer_of_a_missing_record(client, case, token, answer)
                        if not problem and stage.record_item(case.values["record_id"]) != before:
                            problem = "the record changed"
                    tried += 1
                    if problem:
                        failures.append(f"{method} {case.path} as {visitor.name}{how} ({declared}): {problem}")
                if rule.endpoint in ENDS_THE_SESSION:
                    visitor.client = None  # a new session for the next case (sign-out clears an anonymous one too)
                elif method != "GET" and visitor.email and not visitor.is_signed_in():
                    failures.append(f"{method} {case.path} signed {visitor.name} out: list it in ENDS_THE_SESSION")
                    visitor.client = None
    return failures, tried


def report(failures: list[str], tried: int) -> str:
    return f"{len(failures)} of {tried} answers are wrong:\n  " + "\n  ".join(failures)


# The specification


def test_every_route_in_the_url_map_has_a_declared_authorization_rule(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    missing = [unlisted(rule) for rule in rules if rule.endpoint not in RULES]
    stale = [endpoint for endpoint in RULES if endpoint not in app.view_functions]
    assert not missing, "\n".join(missing)
    assert not stale, f"RULES names routes that no longer exist: {stale}"


def test_the_declared_rules_are_the_ones_the_code_enforces(app):
    from webapp.auth.guards import is_public

    disagreements = []
    for endpoint, declared in RULES.items():
        view = app.view_functions.get(endpoint)
        blueprint = app.blueprints.get(endpoint.rpartition(".")[0])
        admin_only = getattr(blueprint, "admin_only", False) or getattr(view, "requires_admin", False)
        if (declared in (PUBLIC, API_TOKEN)) != is_public(view):  # the API's gate is API Gateway's authorizer
            disagreements.append(f"{endpoint} is declared {declared} but is_public says {is_public(view)}")
        if (declared == ADMIN_ONLY) != bool(admin_only):
            disagreements.append(f"{endpoint} is declared {declared} but its admin guard says {bool(admin_only)}")
    assert not disagreements, "\n".join(disagreements)


def test_an_anonymous_visitor_may_use_only_public_routes_and_is_sent_to_sign_in_from_every_other(app, aws, accounts):
    """GETs of protected routes: 302 to /auth/login?next=<path>. POSTs: the CSRF 400 (no page gives an
    anonymous visitor a token); with a token of its anonymous session, the sign-in redirect again."""
    stage = Stage(app, aws)
    failures, tried = walk(stage, Visitor("anonymous", "an anonymous visitor", app))
    assert not failures, report(failures, tried)


def test_a_user_may_use_public_and_signed_in_routes_and_their_own_records_and_gets_403_on_admin_routes(
    app, aws, accounts
):
    stage = Stage(app, aws)
    failures, tried = walk(stage, Visitor("user", "the user", app, USER, USER_PASSWORD))
    assert not failures, report(failures, tried)


def test_another_user_gets_exactly_the_missing_record_answer_for_the_users_records_and_403_on_admin_routes(
    app, aws, accounts
):
    stage = Stage(app, aws)
    make_account(aws, OTHER, OTHER_PASSWORD)
    failures, tried = walk(stage, Visitor("other", "another user", app, OTHER, OTHER_PASSWORD))
    assert not failures, report(failures, tried)


def test_an_admin_may_use_every_route_including_everyones_records(app, aws, accounts):
    stage = Stage(app, aws)
    failures, tried = walk(stage, Visitor("admin", "the admin", app, ADMIN, ADMIN_PASSWORD))
    assert not failures, report(failures, tried)


def test_the_api_takes_no_visitors_session(app, accounts):
    """Every API_TOKEN route, sent a signed-in user's and an admin's session cookie (and no token): 401."""
    wrong = []
    for email, password in ((USER, USER_PASSWORD), (ADMIN, ADMIN_PASSWORD)):
        client = signed_in(app, email, password)
        for rule in app.url_map.iter_rules():
            if RULES.get(rule.endpoint) != API_TOKEN:
                continue
            path = rule.rule.replace("<uuid:record_id>", str(uuid.uuid4()))
            for method in sorted(rule.methods - METHODS_NOT_TRIED):
                answer = client.open(path, method=method, json={})
                if answer.status_code != 401 or answer.mimetype != "application/problem+json":
                    wrong.append(f"{method} {path} as {email}: {answer.status_code} {answer.mimetype}")
    assert wrong == []
