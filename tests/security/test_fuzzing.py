"""Property tests: every form field and query parameter of the app, fuzzed with hostile input.

Each property sends what hypothesis draws through the test client as the signed-in seed user and the seed
admin: forms whose fields are all valid but for one or two hostile ones (any code point, lone surrogates sent
as undecodable bytes, control characters, NUL, very long strings, NaN/Infinity/1e400/-0, 0000-00-00, forged
or tampered tokens and cursors, huge page sizes), or a field left out. It checks:

- never a 5xx;
- a refused input (4xx, or the form shown again with its errors) writes nothing: the app's DynamoDB tables,
  SNS (published, texted, subscribed) and the Cognito pool hold exactly what they held before;
- an accepted input round-trips: what was stored is what the input means, and the pages show it.

The app, the emulated account and the signed-in clients are built once per module (tests/support/stack.py);
hypothesis is derandomized and keeps no example database, so every run tries the same examples.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer
from markupsafe import escape

from tests.support.forms import ADMIN, USER
from tests.support.sending import POST_ROUTES, assert_error_page, encoded, get, post, received
from tests.support.stack import Stack, running_stack
from tests.support.state import sns_backend, stored, written
from webapp.records import schema
from webapp.sns import mask


def fuzz(examples: int) -> settings:
    """Reproducible (derandomized, no example database) and bounded, with no per-example deadline. No
    shrinking: the app's state grows with every example, so shrinking a failure can take minutes; the
    failing example is reported as drawn."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


@pytest.fixture(scope="module")
def stack():
    with running_stack() as running:
        yield running


ROLES = ["user", "admin"]
EMAILS = {"user": USER, "admin": ADMIN}


def client_of(stack: Stack, role: str) -> Any:
    return getattr(stack, role)


# Strategies: hostile text, and forms that are valid but for one or two hostile fields

ANY_CHAR = st.characters(exclude_categories=())  # every code point, lone surrogates included
TEXT_CHAR = st.characters(codec="utf-8")  # every code point a browser can send
CONTROL = st.characters(max_codepoint=0x1F) | st.characters(min_codepoint=0x7F, max_codepoint=0x9F)

HOSTILE_STRINGS = (
    "",
    " ",
    "\t\r\n",
    "\x00",
    "a\x00b",
    "\r",
    "\x1b[31mred",
    "\u202eevil\u202c",
    "\ufeff",
    "\u200b",
    "\ud800",
    "a\udfffb",
    "\U0001f4a9",
    "İSTANBUL",
    "ß",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}",
    "{% raw %}",
    "${jndi:ldap://x/a}",
    "' OR '1'='1",
    "%s%s%n",
    "%00",
    "%ED%A0%80",
    "../../etc/passwd",
    "NaN",
    "-nan",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "1e400",
    "-1e400",
    "1e-400",
    "-0",
    "-0.00",
    "0e999999999",
    "1E+999999999",
    "9" * 400,
    "0.001",
    "1_000",
    "0x1F",
    "1,000.50",
    "١٢٣",
    "\uff11\uff12",
    "  7.5  ",
    "0000-00-00",
    "2027-02-30",
    "2027-13-01",
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "-2027-01-01",
    "2027-1-1",
    "\uff12\uff10\uff12\uff17-\uff10\uff11-\uff13\uff11",
    " 2027-01-31",
    "0",
    "-1",
    "1" * 20,
    "²",
    "4294967296",
    "+447700900123",
    "+1\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669",
    "+44 7700 900123",
    "+0123456789",
    "user@example.com",
    "admin@example.com",
    "A@EXAMPLE.COM",
    'a"b@example.com',
    "a\\b@example.com",
    "o'brien@example.com",
    "a\nb@example.com",
    "a@b.c\x00om",
    "x@" + "\U0001d518" * 249 + ".co",
    "x" * 10_000,
    "é" * 5_000,
    "\U0001f600" * 2_000,
)

long_strings = st.builds(
    lambda part, times: part * times, st.text(ANY_CHAR, min_size=1, max_size=3), st.integers(40, 3000)
)
hostile = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.text(ANY_CHAR, max_size=30),
    st.text(CONTROL, max_size=8),
    long_strings,
)
# Addresses at the 254-byte limit and beyond it, in characters that take 4 bytes each
long_emails = st.integers(60, 252).map(lambda length: "x@" + "\U0001d518" * length + ".co")


SPLICED = ["\n", "\r", "\x00", "\x7f", '"', "\\", "\u2028", "\ufeff", "\ud800", "\u0660"]  # \u0660: a digit, to \d


def spliced(good: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A good value with one hostile character put somewhere inside it (a newline in an email, NUL in a date)."""
    return st.builds(
        lambda text, char, at: text[: at % (len(text) + 1)] + char + text[at % (len(text) + 1) :],
        good,
        st.booleans().flatmap(lambda listed: st.sampled_from(SPLICED) if not listed else CONTROL | ANY_CHAR),
        st.integers(1, 300),  # not in front: a leading control character is often stripped
    )


Field = tuple[st.SearchStrategy[str], st.SearchStrategy[str] | None]  # (good values, hostile ones or the default)


@st.composite
def forms(draw: Any, fields: dict[str, Field], most: int = 2, omit: bool = False) -> dict[str, tuple[str | None, bool]]:
    """{name: (value, known good)}: every field good but (mostly) one, or none, or up to ``most``, which are
    hostile (by default hostile text or a good value with a hostile character inside) or, with ``omit``,
    sometimes not sent at all (None)."""
    form = {name: (draw(good), True) for name, (good, _) in fields.items()}
    count = min(draw(st.sampled_from([1, 1, 1, 0, 2, 3])), most, len(fields))
    for name in draw(st.lists(st.sampled_from(sorted(fields)), min_size=count, max_size=count, unique=True)):
        good, bad = fields[name]
        bad = bad if bad is not None else spliced(good) | hostile
        left_out = omit and draw(st.sampled_from([False, False, False, True]))
        form[name] = (None if left_out else draw(bad), False)
    return form


def sent_of(form: dict[str, tuple[str | None, bool]]) -> dict[str, str]:
    """What to post: the fields that are sent."""
    return {name: value for name, (value, _) in form.items() if value is not None}


def got_of(form: dict[str, tuple[str | None, bool]]) -> dict[str, str | None]:
    """What the app reads: each field as Werkzeug decodes it (None: not sent)."""
    return {name: None if value is None else received(value) for name, (value, _) in form.items()}


def all_good(form: dict[str, tuple[str | None, bool]]) -> bool:
    return all(good for _, good in form.values())


def tampered_tokens(valid: str) -> st.SearchStrategy[str]:
    """A signed token changed the ways an attacker would: one character, cut short, extended, unsigned."""
    return st.one_of(
        st.integers(0, len(valid) - 1).flatmap(
            lambda at: st.sampled_from("AZaz09-_.").map(lambda char: valid[:at] + char + valid[at + 1 :])
        ),
        st.integers(0, len(valid) - 1).map(lambda at: valid[:at]),
        st.text(ANY_CHAR, min_size=1, max_size=5).map(lambda tail: valid + tail),
        st.just(valid.split(".")[0]),
        st.just(valid.replace(".", "..", 1)),
        hostile,
    )


def a_token(make: Any) -> Field:
    """A fresh signed token as the good value; tampered ones, or ones signed with a guessed key, as bad."""
    guessed = URLSafeSerializer("guessed-secret", salt="anything").dumps(str(uuid.uuid4()))
    return st.builds(make), st.one_of(st.builds(make).flatmap(tampered_tokens), st.just(guessed))


good_email = st.one_of(
    st.from_regex(r"[a-z0-9._%+-]{1,20}@[a-z0-9-]{1,20}\.[a-z]{2,6}", fullmatch=True),
    st.emails().filter(lambda email: len(email.split("@")[0]) <= 64 and len(email) <= 200),
)
email_field: Field = (good_email, st.one_of(spliced(good_email), long_emails, hostile))
ascii_phone = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
OTHER_DIGITS = [
    "\u0660",
    "\u06f5",
    "\u0966",
    "\u09ea",
    "\u0bed",
    "\u0e59",
    "\uff10",
    "\uff19",
    "\U0001d7d7",
]  # \d, not 0-9
lookalike_phones = st.builds(
    lambda phone, digit, at: phone[:at] + digit + phone[at + 1 :],
    ascii_phone,
    st.sampled_from(OTHER_DIGITS),
    st.integers(2, 7),
)
phone_field: Field = (ascii_phone, st.one_of(lookalike_phones, spliced(ascii_phone), hostile))
E164 = re.compile(r"\+[1-9][0-9]{6,14}", re.ASCII)


# Records: the create and edit forms, every field

good_tag = st.from_regex(r"[A-Za-z0-9éжß][A-Za-z0-9éжß -]{0,29}", fullmatch=True)
RECORD_FIELDS: dict[str, Field] = {
    "title": (st.text(TEXT_CHAR, min_size=1, max_size=120).filter(lambda text: bool(text.strip())), None),
    "status": (st.sampled_from([value for value, _ in schema.STATUSES]), None),
    "amount": (
        st.one_of(
            st.just(""),
            st.decimals(min_value=0, max_value=Decimal("999999999.99"), places=2).map(str),
            st.integers(0, 999_999_999).map(str),
        ),
        None,
    ),
    "due": (st.one_of(st.just(""), st.dates().map(dt.date.isoformat)), None),
    "notes": (
        st.one_of(st.text(TEXT_CHAR, max_size=200), st.just("n" * 5000), st.just("\r\n".join(["line"] * 3))),
        None,
    ),
    "tags": (
        st.builds(lambda tags, comma: comma.join(tags), st.lists(good_tag, max_size=10), st.sampled_from([",", ", "])),
        None,
    ),
}


class Refused(Exception):
    """The input is not a valid record."""


def meaning(fields: dict[str, str | None]) -> dict[str, Any]:
    """What a record form (as the app reads it; None: not sent) must be stored as, by the declaration in
    webapp/records/schema.py restated independently; Refused when it is no valid record."""
    raw = {field.name: fields.get(field.name) or "" for field in schema.FIELDS}
    title = raw["title"].strip()
    if not title or len(title) > schema.TITLE.max_length:
        raise Refused("title")
    if raw["status"] not in dict(schema.STATUSES):
        raise Refused("status")
    amount = None
    if raw["amount"].strip():
        try:
            amount = Decimal(raw["amount"])
        except (InvalidOperation, ValueError):
            raise Refused("amount") from None
        if not amount.is_finite() or amount.as_tuple().exponent < -2 or not 0 <= amount <= Decimal("999999999.99"):
            raise Refused("amount")
        amount = amount.quantize(Decimal("0.01")) + 0
    due = None
    try:
        due = dt.datetime.strptime(raw["due"], "%Y-%m-%d").date().isoformat()
    except ValueError:
        if raw["due"].strip():
            raise Refused("due") from None
    notes = raw["notes"].strip()
    if len(notes) > 5000:
        raise Refused("notes")
    tags = {" ".join(tag.split()).lower() for tag in raw["tags"].split(",") if tag.strip()}
    if len(tags) > 10 or any(len(tag) > 30 or not re.match(r"^[^\W_][\w -]*\Z", tag) for tag in tags):
        raise Refused("tags")
    values = {"title": title, "status": raw["status"], "amount": amount, "due": due, "notes": notes, "tags": tags}
    return {name: value for name, value in values.items() if value not in (None, "", set())}


def refused_or_meaning(got: dict[str, str | None]) -> dict[str, Any] | None:
    try:
        return meaning(got)
    except Refused:
        return None


def record_values(item: dict[str, Any] | None) -> dict[str, Any]:
    assert item is not None and "owner" in item, "the record is not stored"
    return {field.name: item[field.name] for field in schema.FIELDS if field.name in item}


def shown_value(html: str, name: str) -> str:
    found = re.search(rf'data-testid="value-{name}">(.*?)</dd>', html, re.DOTALL)
    assert found, f"no {name} on the record's page"
    inner = found.group(1).strip()
    wrapper = {"notes": r'<span class="preserve-lines">(.*)</span>', "status": r'<span class="badge [^"]*">(.*)</span>'}
    return re.fullmatch(wrapper[name], inner, re.DOTALL).group(1) if name in wrapper else inner


def assert_record_page_shows(client: Any, record_id: str, values: dict[str, Any]) -> None:
    """The record's page shows exactly what is stored, each value escaped."""
    page = client.get(f"/records/{record_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for field in schema.FIELDS:
        value = values.get(field.name)
        if field.kind == "decimal" and value is not None:
            value = Decimal(value)
        if field.kind == "date" and value is not None:
            value = dt.date.fromisoformat(value)
        assert shown_value(html, field.name) == str(escape(field.display(value) or "—")), field.name


def submission(stack: Stack, role: str, record_id: str | None = None) -> str:
    """The signed id a create form carries (what GET /records/new puts in it)."""
    sub = stack.subs[EMAILS[role]]
    serializer = URLSafeSerializer(stack.app.secret_key, salt="record-submission")
    return serializer.dumps([record_id or str(uuid.uuid4()), sub])


def made_for(stack: Stack, role: str, token: str | None) -> bool:
    """Whether ``token`` is a create form's id the app made for this account (signatures are malleable:
    a token with a trailing "=" or a last character differing in unused bits still verifies)."""
    try:
        serializer = URLSafeSerializer(stack.app.secret_key, salt="record-submission")
        record_id, sub = serializer.loads(received(token))
        return sub == stack.subs[EMAILS[role]] and str(uuid.UUID(record_id)) == record_id
    except Exception:
        return False


@pytest.mark.parametrize("role", ROLES)
def test_the_create_form_refuses_without_writing_or_saves_exactly_what_was_typed(stack, role):
    client = client_of(stack, role)
    other = "admin" if role == "user" else "user"
    good, bad = a_token(lambda: submission(stack, role))
    token: Field = (
        good,
        bad | st.builds(lambda: submission(stack, other)) | st.builds(lambda: submission(stack, role, "not-a-uuid")),
    )

    @fuzz(50)
    @given(form=forms(RECORD_FIELDS | {"submission_id": token}, omit=True))
    def check(form):
        got = got_of(form)
        expected = refused_or_meaning(got)
        before = written(stack)
        response = post(client, "/records/new", {"csrf_token": stack.csrf(client)} | sent_of(form))
        status = response.status_code
        assert status < 500, response.get_data(as_text=True)[:1000]
        if not made_for(stack, role, got["submission_id"]):
            assert status == 400
        elif expected is None:
            assert status == 422 and 'aria-invalid="true"' in response.get_data(as_text=True)
        else:
            assert status == 302, response.get_data(as_text=True)[:2000]
        if all_good(form):
            assert status == 302
        if status != 302:
            assert written(stack) == before
            return
        record_id = urlsplit(response.location).path.rsplit("/", 1)[1]
        assert record_values(stored(stack, "webapp-records", record_id=record_id)) == expected
        added = written(stack)["webapp-records"] - before["webapp-records"]
        assert 1 <= added <= 3  # the record, and its owner's and everyone's counters the first time
        assert_record_page_shows(client, record_id, expected)

    check()


@pytest.fixture(scope="module")
def records(stack):
    """A record of each seed account, for the edit, delete and history pages to work on."""
    made = {}
    for role in ROLES:
        client = client_of(stack, role)
        form = {"csrf_token": stack.csrf(client), "submission_id": submission(stack, role), "title": "Fuzzed"}
        response = post(client, "/records/new", form | {"status": "open"})
        assert response.status_code == 302
        made[role] = response.location.rsplit("/", 1)[1]
    return made


CURRENT = "(the record's version)"


@pytest.mark.parametrize("role", ROLES)
def test_the_edit_form_refuses_without_writing_or_saves_exactly_what_was_typed(stack, records, role):
    client = client_of(stack, role)
    record_id = records["user"]  # the user's own record; the admin edits it as anyone's
    version: Field = (st.just(CURRENT), st.one_of(hostile, st.integers(-2, 10**12).map(str)))

    @fuzz(40)
    @given(form=forms(RECORD_FIELDS | {"version": version}))
    def check(form):
        before_item = stored(stack, "webapp-records", record_id=record_id)
        current = int(before_item["version"])
        if form["version"][0] == CURRENT:
            form["version"] = (str(current), True)
        got = got_of(form)
        expected = refused_or_meaning(got)
        before = written(stack)
        response = post(client, f"/records/{record_id}/edit", {"csrf_token": stack.csrf(client)} | sent_of(form))
        status = response.status_code
        assert status < 500, response.get_data(as_text=True)[:1000]
        typed = got["version"]
        if expected is None:
            assert status == 422 and 'aria-invalid="true"' in response.get_data(as_text=True)
        elif not (typed.isascii() and typed.isdigit() and len(typed) <= 11):
            assert status == 400
        elif int(typed) != current:
            assert status == (302 if record_values(before_item) == expected else 409)
        else:
            assert status == 302
        if status != 302:
            assert written(stack) == before
            assert stored(stack, "webapp-records", record_id=record_id) == before_item
            return
        after = stored(stack, "webapp-records", record_id=record_id)
        assert record_values(after) == expected
        assert int(after["version"]) == current + (record_values(before_item) != expected)
        assert_record_page_shows(client, record_id, expected)

    check()


@pytest.mark.parametrize("role", ROLES)
def test_the_delete_form_refuses_a_hostile_version_without_writing(stack, records, role):
    client = client_of(stack, role)
    record_id = records["user"]

    @fuzz(15)
    @given(version=st.one_of(hostile, st.integers(-2, 10**12).map(str)))
    def check(version):
        current = stored(stack, "webapp-records", record_id=record_id)["version"]
        assume(received(version) != str(current))  # that one would delete it for real
        before = written(stack)
        response = post(client, f"/records/{record_id}/delete", {"csrf_token": stack.csrf(client), "version": version})
        assert response.status_code in (302, 400)
        assert written(stack) == before

    check()


# Records: the list's query parameters, and every paged page's cursor


def cursors(stack: Stack) -> st.SearchStrategy[str]:
    """Cursors no page made: tampered, for other filters, 10 KB, unsigned, signed with a guessed key."""
    from webapp import paging

    with stack.app.test_request_context():
        real = paging.encode({"record_id": str(uuid.uuid4())}, False, paging.fingerprint("somewhere else"))
    guessed = URLSafeSerializer("guessed-secret", salt="list-cursor").dumps({"k": {}, "b": False, "f": "x"})
    return st.one_of(
        tampered_tokens(real),
        st.just(real),  # validly signed, but made for other filters
        st.just("A" * 10_240),
        st.just(guessed),
        st.binary(min_size=1, max_size=60).map(lambda raw: base64.urlsafe_b64encode(raw).decode()),
    ).filter(lambda text: received(text) != "")


def first(sent: list[tuple[str, str]], name: str) -> str:
    """The value the app reads for ``name``: the first one sent under that name, as Werkzeug decodes it."""
    for key, value in sent:
        if received(key) == name:
            return received(value)
    return ""


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", ["/records", "/records/export.csv"])
def test_the_list_and_export_parameters_are_a_page_or_a_clear_400(stack, records, role, path):
    client = client_of(stack, role)
    parameters: dict[str, Field] = {
        "q": (st.text(TEXT_CHAR, max_size=100), None),
        "status": (st.sampled_from(["", *dict(schema.STATUSES)]), None),
        "size": (
            st.one_of(st.just(""), st.integers(5, 100).map(str)),
            st.one_of(hostile, st.integers().map(str), st.integers(101, 10**30).map(str)),
        ),
        "owner": (st.sampled_from([USER, ADMIN, "Nobody@Example.com", " user@example.com ", ""]), None),
        "cursor": (st.just(""), cursors(stack)),
    }

    @fuzz(60)
    @given(form=forms(parameters, most=3, omit=True), extra=st.lists(st.tuples(hostile, hostile), max_size=2))
    def check(form, extra):
        sent = list(sent_of(form).items()) + extra
        response = get(client, path, sent)
        assert response.status_code in (200, 400), (response.status_code, response.get_data(as_text=True)[:1000])
        search = " ".join(first(sent, "q").split())
        size = first(sent, "size")
        valid = (
            first(sent, "status") in ("", *dict(schema.STATUSES))
            and len(search) <= 100
            and (path.endswith(".csv") or not size or (size.isascii() and size.isdigit() and 5 <= int(size) <= 100))
            and (path.endswith(".csv") or not first(sent, "cursor"))
        )
        assert response.status_code == (200 if valid else 400), (response.status_code, sent)
        if all_good(form) and not extra:
            assert response.status_code == 200
        if response.status_code == 200 and not path.endswith(".csv"):
            html = response.get_data(as_text=True)
            assert f'name="q" value="{escape(search)}"' in html
            if role == "admin":
                assert f'name="owner" value="{escape(first(sent, "owner").strip().lower())}"' in html

    check()


def test_every_cursor_no_page_made_is_a_clear_400_and_none_is_the_first_page(stack, records):
    pages = [
        ("user", f"/records/{records['user']}/history"),
        ("admin", f"/records/{records['user']}/history"),
        ("admin", "/records/deleted"),
        ("admin", "/admin/audit"),
        ("admin", "/admin/users"),
        ("admin", "/notifications/history"),
        ("admin", "/notifications/subscriptions"),
    ]

    @fuzz(50)
    @given(page=st.sampled_from(pages), forged=st.none() | cursors(stack))
    def check(page, forged):
        role, path = page
        response = get(client_of(stack, role), path, {"cursor": forged} if forged is not None else {})
        assert response.status_code == (200 if forged is None else 400), response.get_data(as_text=True)[:1000]

    check()


# Admin: user search, audit filters, user pages, invitations


def test_the_admin_user_search_and_audit_filters_are_a_page_or_a_clear_400(stack):
    parameters: dict[str, Field] = {
        "q": (st.one_of(st.text(TEXT_CHAR, max_size=100), good_email, st.sampled_from(["user@", "ADMIN"])), None),
        "kind": (st.sampled_from(["", "users", "records"]), None),
    }

    @fuzz(80)
    @given(path=st.sampled_from(["/admin/users", "/admin/audit"]), form=forms(parameters))
    def check(path, form):
        got = got_of(form)
        params = {"q": form["q"][0]} if path == "/admin/users" else {"who": form["q"][0], "kind": form["kind"][0]}
        response = get(stack.admin, path, params)
        assert response.status_code in (200, 400), (response.status_code, response.get_data(as_text=True)[:1000])
        text = got["q"].strip().lower()
        valid = len(text) <= 100 and (path == "/admin/users" or got["kind"] in ("", "users", "records"))
        assert response.status_code == (200 if valid else 400)
        if valid:
            assert f'value="{escape(text)}"' in response.get_data(as_text=True)

    check()


def test_hostile_usernames_and_actions_on_the_admin_user_pages_are_404s_that_change_nothing(stack):
    actions = st.sampled_from(["disable", "enable", "promote", "demote", "sign-out", "delete", "reset-password"])

    @fuzz(30)
    @given(username=hostile.filter(lambda text: "@" not in text), action=actions | hostile)
    def check(username, action):
        before = written(stack)
        path = f"/admin/users/{encoded(username)}"
        assert stack.admin.get(path).status_code in (200, 308, 404, 405)
        done = post(stack.admin, f"{path}/{encoded(action)}", {"csrf_token": stack.csrf(stack.admin)})
        assert done.status_code in (308, 404, 405), done.status_code
        assert written(stack) == before

    check()


def pool_user(stack: Stack, email: str) -> dict[str, Any] | None:
    cognito = stack.session.client("cognito-idp")
    pool = stack.settings["COGNITO_USER_POOL_ID"]
    for user in cognito.get_paginator("list_users").paginate(UserPoolId=pool).search("Users"):
        if {a["Name"]: a["Value"] for a in user["Attributes"]}.get("email") == email:
            return user
    return None


def test_an_invitation_is_refused_without_writing_or_creates_exactly_that_user(stack):
    fields: dict[str, Field] = {"email": email_field, "make_admin": (st.sampled_from(["yes", "", "no"]), None)}

    @fuzz(40)
    @given(form=forms(fields))
    def check(form):
        got = got_of(form)
        before = written(stack)
        response = post(stack.admin, "/admin/users/invite", {"csrf_token": stack.csrf(stack.admin)} | sent_of(form))
        assert response.status_code in (302, 422), (response.status_code, response.get_data(as_text=True)[:1000])
        typed = got["email"].strip().lower()
        html = response.get_data(as_text=True)
        if response.status_code == 422:
            if "Enter a valid email address." in html:
                assert written(stack) == before
            else:  # Cognito refused it: the refusal is in the audit log, and nothing else was written
                assert written(stack) == before | {"webapp-audit": before["webapp-audit"] + 1}
            assert f'value="{escape(typed)}"' in html
            return
        assert len(typed.encode()) <= 254 and typed.isprintable(), f"invited {typed!r}"
        invited = pool_user(stack, typed)
        assert invited is not None, typed
        page = stack.admin.get(response.location)
        assert page.status_code == 200, (response.location, page.status_code)
        assert str(escape(typed)) in page.get_data(as_text=True)
        groups = stack.session.client("cognito-idp").admin_list_groups_for_user(
            UserPoolId=stack.settings["COGNITO_USER_POOL_ID"], Username=invited["Username"]
        )["Groups"]
        assert [group["GroupName"] for group in groups] == (["admin"] if got["make_admin"] == "yes" else [])

    check()


# Account: subscriptions (email, phone) and the record-events choice


def subscription_forms(role: str) -> st.SearchStrategy[dict[str, tuple[str | None, bool]]]:
    """A subscribe form: a protocol and an endpoint of that protocol, one or both of them hostile."""

    def of(protocol: str) -> st.SearchStrategy[dict[str, tuple[str | None, bool]]]:
        good, bad = email_field if protocol == "email" else phone_field
        endpoint = (good.map(lambda text: f"{role}.{text}") if protocol == "email" else good, bad)
        return forms({"protocol": (st.just(protocol), None), "endpoint": endpoint})

    return st.sampled_from(["email", "sms"]).flatmap(of)


@pytest.mark.parametrize("role", ROLES)
def test_a_subscription_is_refused_without_writing_or_subscribes_exactly_that_endpoint(stack, role):
    client = client_of(stack, role)
    sub = stack.subs[EMAILS[role]]

    @fuzz(40)
    @given(form=subscription_forms(role))
    def check(form):
        got = got_of(form)
        before = written(stack)
        response = post(client, "/account/subscriptions", {"csrf_token": stack.csrf(client)} | sent_of(form))
        status = response.status_code
        assert status in (302, 400, 409, 422), (status, response.get_data(as_text=True)[:1000])
        kind = got["protocol"]
        typed = "".join(got["endpoint"].split())
        typed = typed.lower() if kind == "email" else typed
        if kind not in ("email", "sms"):
            assert status == 400
        if all_good(form) and len(typed.split("@")[0]) <= 64:
            assert status == 302, response.get_data(as_text=True)[:2000]
        if status != 302:
            assert written(stack) == before
            return
        if kind == "sms":
            assert E164.fullmatch(typed), f"accepted {typed!r} as a phone number SNS can text"
        assert len(typed.encode()) <= 254 and typed.isprintable(), f"accepted {typed!r} as an endpoint"
        mine = stored(stack, "webapp-notifications", pk=f"user#{sub}", sk=f"sub#{kind}#{typed}")
        assert mine is not None and mine["endpoint"] == typed
        [subscription] = [s for s in sns_backend().subscriptions.values() if s.arn == mine["arn"]]
        assert (subscription.protocol, subscription.endpoint) == (kind, typed)
        assert str(escape(mask(typed))) in client.get("/account").get_data(as_text=True)
        form = {"csrf_token": stack.csrf(client), "protocol": kind, "endpoint": typed}
        assert post(client, "/account/subscriptions/remove", form).status_code == 302
        assert stored(stack, "webapp-notifications", pk=f"user#{sub}", sk=f"sub#{kind}#{typed}") is None
        assert mine["arn"] not in sns_backend().subscriptions

    check()


@pytest.mark.parametrize("role", ROLES)
def test_removing_a_subscription_one_does_not_have_changes_nothing(stack, role):
    client = client_of(stack, role)

    @fuzz(15)
    @given(protocol=st.sampled_from(["email", "sms"]) | hostile, endpoint=hostile | good_email | ascii_phone)
    def check(protocol, endpoint):
        before = written(stack)
        form = {"csrf_token": stack.csrf(client), "protocol": protocol, "endpoint": endpoint}
        assert post(client, "/account/subscriptions/remove", form).status_code == 302
        assert written(stack) == before

    check()


@pytest.mark.parametrize("role", ROLES)
def test_the_record_events_choice_is_on_only_for_on(stack, role):
    client = client_of(stack, role)
    sub = stack.subs[EMAILS[role]]

    @fuzz(15)
    @given(choice=st.none() | st.just("on") | hostile)
    def check(choice):
        before = written(stack)
        form = {"csrf_token": stack.csrf(client)} | ({"record_events": choice} if choice is not None else {})
        assert post(client, "/account/record-events", form).status_code == 302
        prefs = stored(stack, "webapp-notifications", pk=f"user#{sub}", sk="prefs")
        assert prefs["record_events"] is (choice is not None and received(choice) == "on")
        after = written(stack)
        assert after | {"webapp-notifications": 0} == before | {"webapp-notifications": 0}  # SNS: nothing sent

    check()


# Notifications (admins): compose, preview, send, direct SMS, templates


def send_id(stack: Stack) -> str:
    """The signed, single-use id a send form carries."""
    return URLSafeSerializer(stack.app.secret_key, salt="notification-send").dumps(str(uuid.uuid4()))


def send_id_valid(stack: Stack, token: str | None) -> bool:
    try:
        value = URLSafeSerializer(stack.app.secret_key, salt="notification-send").loads(received(token))
        return str(uuid.UUID(value)) == value
    except Exception:
        return False


ascii_subject = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=100)
MESSAGE_FIELDS: dict[str, Field] = {
    "audience": (st.sampled_from(["all", "admins", "user"]), None),
    "user_email": (st.sampled_from([USER, ADMIN, " User@Example.com "]), st.one_of(hostile, spliced(st.just(USER)))),
    "subject": (ascii_subject.filter(lambda text: "{" not in text), None),
    "message": (
        st.text(TEXT_CHAR, min_size=1, max_size=300).filter(lambda text: text.strip() and "{" not in text),
        None,
    ),
}


def draft_of(got: dict[str, str | None]) -> tuple[str, str] | None:
    """(subject, message) a compose form means; None when it must be refused (SNS's rules, no placeholder
    left unfilled, a known audience)."""
    subject = " ".join((got.get("subject") or "").split())
    message = (got.get("message") or "").replace("\r\n", "\n").strip()
    placeholder = re.compile(r"\{[a-z][a-z0-9_]{0,30}\}")
    audience = "all" if got.get("audience") is None else got["audience"]
    user = (got.get("user_email") or "").strip().lower()
    if (
        not subject
        or len(subject) > 100
        or not subject.isascii()
        or not subject.isprintable()
        or not message
        or len(message.encode()) > 256 * 1024
        or placeholder.search(subject)
        or placeholder.search(message)
        or audience not in ("all", "admins", "user")
        or (audience == "user" and user not in (USER, ADMIN))
    ):
        return None
    return subject, message


@pytest.mark.parametrize("step", ["preview", "send"])
def test_a_message_is_refused_without_sending_or_sent_exactly_as_previewed(stack, step):
    topic = stack.settings["SNS_TOPIC_ARN"]
    fields = MESSAGE_FIELDS | ({"send_id": a_token(lambda: send_id(stack))} if step == "send" else {})

    @fuzz(50)
    @given(form=forms(fields, omit=True))
    def check(form):
        got = got_of(form)
        expected = draft_of(got)
        before = written(stack)
        response = post(stack.admin, f"/notifications/{step}", {"csrf_token": stack.csrf(stack.admin)} | sent_of(form))
        status = response.status_code
        assert status < 500, response.get_data(as_text=True)[:1000]
        if step == "send" and not send_id_valid(stack, got["send_id"]):
            assert status == 400
        elif expected is None:
            assert status == 422
        else:
            assert status == (200 if step == "preview" else 302), (status, response.get_data(as_text=True)[:1000])
        if all_good(form):
            assert expected is not None
        if status != 302:
            assert written(stack) == before  # a preview never sends, nor does a refused send
        if status == 200:
            html = response.get_data(as_text=True)
            assert f'data-testid="preview-subject">{escape(expected[0])}<' in html
            assert f'data-testid="preview-message">{escape(expected[1])}<' in html
        if status == 302:
            *_, (_, message, subject, _, _) = sns_backend().topics[topic].sent_notifications
            assert (subject, message) == expected
            assert written(stack)["sns published"] == before["sns published"] + 1

    check()


def test_a_text_message_is_refused_without_sending_or_sent_exactly_to_that_number(stack):
    fields: dict[str, Field] = {
        "phone": phone_field,
        "sms_message": (st.text(TEXT_CHAR, min_size=1, max_size=1600).filter(lambda text: bool(text.strip())), None),
        "send_id": a_token(lambda: send_id(stack)),
    }

    @fuzz(40)
    @given(form=forms(fields, omit=True))
    def check(form):
        got = got_of(form)
        before = written(stack)
        response = post(stack.admin, "/notifications/sms", {"csrf_token": stack.csrf(stack.admin)} | sent_of(form))
        status = response.status_code
        assert status < 500, response.get_data(as_text=True)[:1000]
        if not send_id_valid(stack, got["send_id"]):
            assert status == 400
        if all_good(form):
            assert status == 302
        if status != 302:
            assert written(stack) == before
            return
        number, message = "".join(got["phone"].split()), got["sms_message"].strip()
        assert E164.fullmatch(number), f"texted {number!r}, which is no phone number SNS can text"
        assert list(sns_backend().sms_messages.values())[-1] == (number, message)

    check()


def test_a_template_is_refused_without_writing_or_saved_and_offered_exactly_as_typed(stack):
    fields: dict[str, Field] = {
        "name": (st.from_regex(r"[A-Za-z0-9_ -]{1,60}", fullmatch=True).filter(lambda text: bool(text.strip())), None),
        "subject": MESSAGE_FIELDS["subject"],
        "message": MESSAGE_FIELDS["message"],
    }

    @fuzz(40)
    @given(form=forms(fields, omit=True))
    def check(form):
        before = written(stack)
        response = post(
            stack.admin, "/notifications/message-templates", {"csrf_token": stack.csrf(stack.admin)} | sent_of(form)
        )
        status = response.status_code
        assert status in (302, 422), (status, response.get_data(as_text=True)[:1000])
        if all_good(form):
            assert status == 302
        if status == 422:
            assert written(stack) == before
            return
        values = {name: (value or "").strip() for name, value in got_of(form).items()}
        saved = stored(stack, "webapp-notifications", pk="template", sk=values["name"])
        assert (saved["subject"], saved["message"]) == (values["subject"], values["message"])
        compose = get(stack.admin, "/notifications", {"template": values["name"]})
        assert compose.status_code == 200
        html = compose.get_data(as_text=True)
        assert f'name="subject" value="{escape(values["subject"])}"' in html
        assert str(escape(values["message"])) in html
        delete = {"csrf_token": stack.csrf(stack.admin), "name": values["name"]}
        assert post(stack.admin, "/notifications/message-templates/delete", delete).status_code == 302
        assert stored(stack, "webapp-notifications", pk="template", sk=values["name"]) is None

    check()


def test_hostile_template_names_and_subscription_arns_change_nothing(stack):
    targets = [
        ("GET", "/notifications", "template"),
        ("POST", "/notifications/message-templates/delete", "name"),
        ("POST", "/notifications/subscriptions/remove", "arn"),
    ]

    @fuzz(25)
    @given(target=st.sampled_from(targets), value=hostile | st.just(stack.settings["SNS_TOPIC_ARN"] + ":nope"))
    def check(target, value):
        method, path, name = target
        before = written(stack)
        if method == "GET":
            assert get(stack.admin, path, {name: value}).status_code in (200, 404)
        else:
            response = post(stack.admin, path, {"csrf_token": stack.csrf(stack.admin), name: value})
            assert response.status_code in (302, 400)
        assert written(stack) == before  # no template was saved, so deleting one removes nothing

    check()


# Every POST route: a forged CSRF token is refused and writes nothing


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
        path = path.format(record=records["user"], username=username)
        before = written(stack)
        fields = {"title": "Forged", "status": "open", "email": "forged@example.com", "protocol": "email"}
        response = post(client_of(stack, role), path, fields | ({"csrf_token": token} if token is not None else {}))
        assert response.status_code == 400, (path, response.status_code)
        assert 'class="navbar' in response.get_data(as_text=True)  # an error page in the layout
        assert written(stack) == before

    check()


# Sign-in: the next parameter and the callback's answer


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


# Regressions: what the properties above found, pinned as plain examples


@pytest.mark.parametrize(
    "phone", ["+1\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669", "+100000\u0660", "+4477009\uff10\uff10123"]
)
def test_a_phone_number_with_non_ascii_digits_is_refused_and_nothing_is_sent_or_subscribed(stack, phone):
    before = written(stack)
    form = {"csrf_token": stack.csrf(stack.user), "protocol": "sms", "endpoint": phone}
    subscribed = post(stack.user, "/account/subscriptions", form)
    assert subscribed.status_code == 422 and "E.164" in subscribed.get_data(as_text=True)
    form = {"csrf_token": stack.csrf(stack.admin), "send_id": send_id(stack), "phone": phone, "sms_message": "Hi"}
    texted = post(stack.admin, "/notifications/sms", form)
    assert texted.status_code == 422 and "E.164" in texted.get_data(as_text=True)
    assert written(stack) == before


@pytest.mark.parametrize("email", ["user@example.com\nx", "a\nb@example.com", "user@example.com\x00", "\u2028"])
def test_a_control_character_in_an_email_filter_finds_nobody_instead_of_a_503(stack, email):
    assert get(stack.admin, "/records", {"owner": email}).status_code == 200
    assert get(stack.admin, "/admin/users", {"q": email}).status_code == 200
    fields = {"audience": "user", "user_email": email, "subject": "S", "message": "M"}
    preview = post(stack.admin, "/notifications/preview", {"csrf_token": stack.csrf(stack.admin)} | fields)
    assert preview.status_code == 422 and "There is no user with that email." in preview.get_data(as_text=True)


@pytest.mark.parametrize("email", ["x@" + "\U0001d518" * 249 + ".co", "a\x00b@example.com", "a\x7fb@example.com"])
def test_an_address_over_254_bytes_or_with_control_characters_is_refused_and_nothing_is_written(stack, email):
    before = written(stack)
    form = {"csrf_token": stack.csrf(stack.user), "protocol": "email", "endpoint": email}
    subscribed = post(stack.user, "/account/subscriptions", form)
    assert subscribed.status_code == 422 and "Enter a valid email address." in subscribed.get_data(as_text=True)
    invited = post(stack.admin, "/admin/users/invite", {"csrf_token": stack.csrf(stack.admin), "email": email})
    assert invited.status_code == 422 and "Enter a valid email address." in invited.get_data(as_text=True)
    assert written(stack) == before


@pytest.mark.parametrize("name", ["x" * 1025, "\u00e9" * 600, "a/b", "Outage\x00", "Outage;"])
def test_a_template_name_no_template_can_have_is_a_404_without_a_dynamodb_key_it_refuses(stack, name):
    before = written(stack)
    assert_error_page(get(stack.admin, "/notifications", {"template": name}), 404, "Page not found")
    assert written(stack) == before
