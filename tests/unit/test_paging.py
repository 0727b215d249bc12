"""Signed pagination cursors: a cursor names where a page starts and the filters it was made for; anything
tampered with, truncated, too long or made for other filters is a BadCursor, never a Query pointed elsewhere."""

import hashlib

import pytest
from flask import Flask
from itsdangerous import URLSafeSerializer
from werkzeug.exceptions import BadRequest

from webapp.paging import (
    MAX_CURSOR_LENGTH,
    BadCursor,
    Cursor,
    Span,
    cursor_from_request,
    decode,
    encode,
    fingerprint,
    offset,
    page_links,
    span,
    start,
)

SECRET = "unit-test-secret-key-long-enough-for-hmac"
KEY = {"pk": {"S": "send"}, "sk": {"S": "2027-01-31T10:00:00.000000+00:00#abc"}}
FILTERS = fingerprint("open", "alice@example.com")


@pytest.fixture
def app():
    app = Flask(__name__)
    app.secret_key = SECRET
    app.add_url_rule("/things", "things.index", lambda: "")
    with app.test_request_context():
        yield app


class Page:
    def __init__(self, previous_key=None, next_key=None, shown=0):
        self.previous_key, self.next_key, self.items = previous_key, next_key, [{}] * shown


def test_a_fingerprint_is_short_and_stable():
    assert fingerprint("open", "alice@example.com") == FILTERS
    assert len(FILTERS) == 16 and int(FILTERS, 16) >= 0


@pytest.mark.parametrize(
    "other",
    [("done", "alice@example.com"), ("open", "bob@example.com"), ("alice@example.com", "open"), ("open",)],
)
def test_other_filters_have_another_fingerprint(other):
    assert fingerprint(*other) != FILTERS


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize("backward", [False, True])
def test_a_cursor_comes_back_as_it_was_made(backward):
    assert decode(encode(KEY, backward, FILTERS), FILTERS) == Cursor(key=KEY, backward=backward)


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize("token", [None, ""])
def test_no_cursor_is_the_first_page(token):
    assert decode(token, FILTERS) is None


@pytest.mark.usefixtures("app")
def test_a_cursor_for_other_filters_is_refused():
    token = encode(KEY, False, fingerprint("done", ""))
    with pytest.raises(BadCursor, match="other filters"):
        decode(token, FILTERS)


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize("position", [0, 5, -1, -5])
def test_a_tampered_cursor_is_refused(position):
    token = encode(KEY, False, FILTERS)
    changed = "A" if token[position] != "A" else "B"
    tampered = token[:position] + changed + (token[position + 1 :] if position != -1 else "")
    with pytest.raises(BadCursor):
        decode(tampered, FILTERS)


@pytest.mark.usefixtures("app")
def test_a_truncated_cursor_is_refused():
    token = encode(KEY, False, FILTERS)
    with pytest.raises(BadCursor):
        decode(token[:-3], FILTERS)


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize("token", ["garbage", "a.b", "…ü✓", "%00", "." * 50])
def test_garbage_is_a_bad_cursor_not_a_crash(token):
    with pytest.raises(BadCursor):
        decode(token, FILTERS)


@pytest.mark.usefixtures("app")
def test_a_cursor_signed_with_another_key_is_refused():
    forged = URLSafeSerializer("someone-elses-key", salt="list-cursor").dumps({"k": KEY, "b": False, "f": FILTERS})
    with pytest.raises(BadCursor):
        decode(forged, FILTERS)


@pytest.mark.usefixtures("app")
def test_a_value_signed_for_another_purpose_is_not_a_cursor():
    other = URLSafeSerializer(SECRET, salt="something-else").dumps({"k": KEY, "b": False, "f": FILTERS})
    with pytest.raises(BadCursor):
        decode(other, FILTERS)


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize(
    "payload", [["not", "a", "dict"], {"k": "not-a-key", "b": False, "f": FILTERS}, {"b": False, "f": FILTERS}]
)
def test_a_signed_value_of_the_wrong_shape_is_refused(payload):
    token = URLSafeSerializer(SECRET, salt="list-cursor").dumps(payload)
    with pytest.raises(BadCursor):
        decode(token, FILTERS)


def incompressible(length):
    """Text that compression cannot shrink (itsdangerous compresses what it signs)."""
    text = hashlib.sha256(b"0").hexdigest()
    while len(text) < length:
        text += hashlib.sha256(text.encode()).hexdigest()
    return text[:length]


@pytest.mark.usefixtures("app")
def test_a_cursor_too_long_is_refused_before_its_signature_is_checked():
    huge = encode({"pk": {"S": incompressible(4000)}}, False, FILTERS)
    assert len(huge) > MAX_CURSOR_LENGTH
    with pytest.raises(BadCursor, match="too long"):
        decode(huge, FILTERS)


@pytest.mark.usefixtures("app")
def test_the_longest_cursor_within_the_limit_is_accepted():
    length, token = 0, ""
    while len(encode({"pk": {"S": incompressible(length + 8)}}, False, FILTERS)) <= MAX_CURSOR_LENGTH:
        length += 8
        token = encode({"pk": {"S": incompressible(length)}}, False, FILTERS)
    assert MAX_CURSOR_LENGTH - 16 < len(token) <= MAX_CURSOR_LENGTH
    assert decode(token, FILTERS).key == {"pk": {"S": incompressible(length)}}


def test_a_request_with_a_bad_cursor_is_a_400_page(app):
    with app.test_request_context("/things?cursor=forged"), pytest.raises(BadRequest) as refused:
        cursor_from_request(FILTERS)
    assert "made for other filters" in refused.value.description


def test_a_request_with_a_good_cursor_gives_its_start(app):
    token = encode(KEY, True, FILTERS)
    with app.test_request_context("/things", query_string={"cursor": token}):
        assert start(cursor_from_request(FILTERS)) == (KEY, True)
    with app.test_request_context("/things"):
        assert cursor_from_request(FILTERS) is None and start(None) == (None, False)


def test_page_links_lead_both_ways_and_keep_the_filters(app):
    older_key = {"pk": {"S": "send"}, "sk": {"S": "older"}}
    newer, older = page_links("things.index", Page(KEY, older_key), FILTERS, status="open", who="")
    with app.test_request_context(newer):
        from flask import request

        assert request.args["status"] == "open" and "who" not in request.args
        assert cursor_from_request(FILTERS) == Cursor(key=KEY, backward=True)
    with app.test_request_context(older):
        assert cursor_from_request(FILTERS) == Cursor(key=older_key, backward=False)


@pytest.mark.parametrize(
    ("page", "shown"),
    [(Page(None, KEY), [False, True]), (Page(KEY, None), [True, False]), (Page(), [False, False])],
)
def test_a_page_at_an_end_has_no_link_that_way(app, page, shown):
    assert [link.startswith("/things?") for link in page_links("things.index", page, FILTERS)] == shown
    assert [link != "" for link in page_links("things.index", page, FILTERS)] == shown


def test_a_link_made_for_some_filters_does_not_serve_others(app):
    _, older = page_links("things.index", Page(None, KEY), FILTERS, status="open")
    with app.test_request_context(older.replace("status=open", "status=done")), pytest.raises(BadRequest):
        cursor_from_request(fingerprint("done", "alice@example.com"))


def test_links_count_the_items_before_their_cursor(app):
    newer, older = page_links("things.index", Page(KEY, KEY, shown=20), FILTERS, 40, status="open")
    with app.test_request_context(newer):
        assert cursor_from_request(FILTERS) == Cursor(key=KEY, backward=True, before=40)
    with app.test_request_context(older):
        assert cursor_from_request(FILTERS) == Cursor(key=KEY, backward=False, before=60)


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize("before", [-1, True, "20", 2.5, None])
def test_a_count_that_is_no_whole_number_counts_nothing(before):
    token = URLSafeSerializer(SECRET, salt="list-cursor").dumps({"k": KEY, "b": False, "f": FILTERS, "n": before})
    assert decode(token, FILTERS).before is None


@pytest.mark.parametrize(
    ("cursor", "page", "expected"),
    [
        (None, Page(None, KEY, shown=20), 0),  # the first page
        (Cursor(KEY, False, 40), Page(KEY, KEY, shown=20), 40),  # forward: what the link counted
        (Cursor(KEY, True, 40), Page(KEY, KEY, shown=20), 20),  # back: the page ends where the link was
        (Cursor(KEY, True, 15), Page(KEY, KEY, shown=20), 0),  # records added since: never below the start
        (Cursor(KEY, True, 40), Page(None, KEY, shown=20), 0),  # walked back to the start
        (Cursor(KEY, False, None), Page(KEY, KEY, shown=20), None),  # a link made before links counted
    ],
)
def test_a_pages_offset(cursor, page, expected):
    assert offset(cursor, page) == expected


def asked_for(total):
    """A count that remembers it was asked (the counters are read only when needed)."""
    asked = []
    return asked, lambda: asked.append(1) or total


@pytest.mark.parametrize(
    ("start", "page", "total", "expected", "read"),
    [
        (0, Page(None, KEY, shown=20), 57, Span(1, 20, 57), True),
        (40, Page(KEY, None, shown=17), 57, Span(41, 57, 57), False),  # the last page: what was shown
        (40, Page(KEY, None, shown=17), 30, Span(41, 57, 57), False),  # a counter behind: never "41-57 of 30"
        (20, Page(KEY, KEY, shown=20), 30, Span(21, 40, 40, more=True), True),  # behind, more to come
        (20, Page(KEY, KEY, shown=20), 40, Span(21, 40, 40, more=True), True),
        (0, Page(None, None, shown=3), 0, Span(1, 3, 3), False),  # one page: no counter needed
        (0, Page(None, None), 5, None, False),  # an empty page says nothing
        (None, Page(KEY, KEY, shown=20), 57, None, False),  # nor a page whose place is not known
    ],
)
def test_where_a_page_sits_in_its_list(start, page, total, expected, read):
    asked, count = asked_for(total)
    assert span(start, page, count) == expected
    assert bool(asked) == read


def test_a_search_has_no_total():
    assert span(20, Page(KEY, KEY, shown=20), None) == Span(21, 40, None)
