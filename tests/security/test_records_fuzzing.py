"""Property tests of the records pages: the create, edit and delete forms, every field, and the list's and
export's query parameters and every paged page's cursor.

Each property sends what hypothesis draws (tests/support/fuzzing.py) through the test client as the signed-in
seed user and the seed admin of the module's stack, and checks: never a 5xx; a refused input writes nothing
(the app's tables, SNS and the Cognito pool hold what they held before); an accepted input round-trips.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import unicodedata
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer
from markupsafe import escape

from tests.support.forms import ADMIN, USER
from tests.support.fuzzing import (
    EMAILS,
    ROLES,
    TEXT_CHAR,
    Field,
    a_token,
    all_good,
    client_of,
    forms,
    fuzz,
    got_of,
    hostile,
    sent_of,
    submission,
    tampered_tokens,
    trim,
)
from tests.support.sending import get, post, received
from tests.support.stack import Stack
from tests.support.state import stored, written
from webapp.records import schema

# The create and edit forms, every field

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


def invisible(text: str) -> bool:
    """Whether the text holds a control character (but tab, CR, LF) or a bidirectional override or isolate."""
    return any(
        (unicodedata.category(c) == "Cc" and c not in "\t\r\n")
        or 0x202A <= ord(c) <= 0x202E
        or 0x2066 <= ord(c) <= 0x2069
        for c in text
    )


def meaning(fields: dict[str, str | None]) -> dict[str, Any]:
    """What a record form (as the app reads it; None: not sent) must be stored as, by the declaration in
    webapp/records/schema.py restated independently; Refused when it is no valid record."""
    raw = {field.name: fields.get(field.name) or "" for field in schema.FIELDS}
    title = trim(re.sub(r"[\t\r\n]+", " ", raw["title"]))  # a one-line text: pasted tabs, breaks are a space
    if not title or len(title) > schema.TITLE.max_length or invisible(title):
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
    notes = trim(raw["notes"])
    if len(notes) > 5000 or invisible(notes):
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


# The list's query parameters, and every paged page's cursor


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
