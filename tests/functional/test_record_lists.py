"""The records list says where you are: "21-40 of 57" from the counters, a page size kept everywhere, four orders
each read from an index one Query a page, an owner picker for admins, and page addresses with a trailing slash."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest

from tests.support.forms import ADMIN, USER
from webapp.records.model import SORTS

DAYS = [9, 3, None, 12, 1, 7, 4, 11, 2, 8, 6, 10, 5]  # due days of March; None: no due date


def add(aws, accounts, email, count, status=lambda n: "open", title="Record", shift=0):
    """``count`` records of ``email``'s written by the app's own store (quicker than the form); record n is due on
    DAYS[(n + shift) % 13] and updated after record n - 1. Returns their titles in the order they were written."""
    from webapp.records.store import RecordStore

    store = RecordStore(aws["session"].client("dynamodb"), "webapp-records", "webapp-audit")
    sub, titles = accounts[email], []
    for n in range(count):
        day = DAYS[(n + shift) % len(DAYS)]
        values = {"title": f"{title} {n:02d}", "status": status(n), "amount": Decimal(n), "tags": set()}
        values |= {"due": dt.date(2027, 3, day) if day else None, "notes": None}
        store.create(sub, email, {"sub": sub, "email": email}, values, str(uuid.uuid4()))
        titles.append(values["title"])
    return titles


def shown(html):
    return re.findall(r'<a href="/records/[0-9a-f-]{36}">([^<]+)</a>', html)


def span(html):
    """The "x-y of n" line, its en dash written "-" here (ruff keeps look-alike characters out of the code)."""
    found = re.search(r'data-testid="records-span">([^<]*)<', html)
    return found.group(1).replace("\N{EN DASH}", "-") if found else None


def link(html, rel):
    found = re.search(rf'href="([^"]+)" rel="{rel}"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def calls_of(app, monkeypatch):
    """The page's DynamoDB calls with their parameters (the navigation bar's inbox bell left out: test_inbox)."""
    from webapp import aws

    with app.app_context():
        client = aws.client("dynamodb")
    calls, original = [], client._make_api_call

    def counted(op, params):
        if app.config["INBOX_TABLE"] not in params.get("RequestItems", {}):
            calls.append((op, params))
        return original(op, params)

    monkeypatch.setattr(client, "_make_api_call", counted)
    return calls


def in_order(titles, sort):
    """The titles as the list must show them in ``sort`` (a due date's absence sorts after every date)."""
    number = {title: n for n, title in enumerate(titles)}
    due = lambda title: DAYS[number[title] % len(DAYS)] or 99  # noqa: E731
    key = (lambda title: due(title)) if sort.startswith("due") else (lambda title: number[title])
    return sorted(titles, key=key, reverse=sort.endswith("_desc"))


@pytest.mark.parametrize("sort", list(SORTS))
def test_every_order_is_one_query_a_page_on_its_index_read_its_way(user, app, aws, accounts, monkeypatch, sort):
    titles = add(aws, accounts, USER, 13)
    user.get("/records")  # settles the session (its first save)
    calls = calls_of(app, monkeypatch)
    first = user.get(f"/records?sort={sort}&size=5").get_data(as_text=True)
    assert [op for op, _ in calls] == ["GetItem", "Query", "GetItem"]  # session, the page, the owner's counter
    _, query = calls[1]
    assert query["IndexName"] == ("by_owner_due" if sort.startswith("due") else "by_owner")
    assert query["ScanIndexForward"] is sort.endswith("_asc") and query["Limit"] == 6
    seen = shown(first)
    page = first
    while link(page, "next"):
        calls.clear()
        page = user.get(link(page, "next")).get_data(as_text=True)
        assert [op for op, _ in calls][:2] == ["GetItem", "Query"] and len(calls) <= 3
        seen += shown(page)
    assert seen == in_order(titles, sort)
    calls.clear()
    back = user.get(link(page, "prev")).get_data(as_text=True)
    assert shown(back) == in_order(titles, sort)[5:10] and calls[1][1]["ScanIndexForward"] is not sort.endswith("_asc")


def test_an_admins_orders_read_every_shard_at_once_and_the_overall_counters(admin, app, aws, accounts, monkeypatch):
    add(aws, accounts, USER, 6, status=lambda n: "done" if n % 2 else "open")
    add(aws, accounts, ADMIN, 4, title="Mine", shift=6)  # due 4, 11, 2 and 8 March
    admin.get("/records")
    calls = calls_of(app, monkeypatch)
    page = admin.get("/records?sort=due_asc&size=5").get_data(as_text=True)
    queries = [params for op, params in calls if op == "Query"]
    assert len(queries) == 8 and {params["IndexName"] for params in queries} == {"by_due"}
    assert [op for op, _ in calls if op != "Query"] == ["GetItem", "BatchGetItem"]  # the session, 8 counters
    assert shown(page) == ["Record 04", "Mine 02", "Record 01", "Mine 00", "Record 05"]  # due 1, 2, 3, 4, 7 March
    calls.clear()
    done = admin.get("/records?sort=due_desc&status=done").get_data(as_text=True)
    assert shown(done) == ["Record 03", "Record 05", "Record 01"]  # 12, 7 and 3 March
    assert {params["FilterExpression"] for op, params in calls if op == "Query"} == {"#s = :s"}


def test_the_list_says_which_records_it_shows_of_how_many(user, aws, accounts):
    add(aws, accounts, USER, 57)
    aws.events.drain()  # the counters have counted every record (on AWS, within seconds)
    first = user.get("/records").get_data(as_text=True)
    assert span(first) == "1-20 of 57" and "1\N{EN DASH}20 of 57" in first
    second = user.get(link(first, "next")).get_data(as_text=True)
    assert span(second) == "21-40 of 57"
    last = user.get(link(second, "next")).get_data(as_text=True)
    assert span(last) == "41-57 of 57" and link(last, "next") is None
    assert span(user.get(link(last, "prev")).get_data(as_text=True)) == "21-40 of 57"
    assert span(user.get("/records?status=done").get_data(as_text=True)) is None  # an empty page says nothing
    assert "No records match" in user.get("/records?status=done").get_data(as_text=True)
    assert span(user.get("/records?q=record 1").get_data(as_text=True)) == "1-10 matching"  # no total


def test_a_counter_behind_the_records_never_says_fewer_than_the_pages_show(user, aws, accounts):
    add(aws, accounts, USER, 30)
    aws.events.drain()
    add(aws, accounts, USER, 15, title="Later")  # not counted yet: the stream has not been read
    first = user.get("/records").get_data(as_text=True)
    assert span(first) == "1-20 of 30"
    second = user.get(link(first, "next")).get_data(as_text=True)
    assert span(second) == "21-40 of more than 40"  # never "21-40 of 30"
    assert span(user.get(link(second, "next")).get_data(as_text=True)) == "41-45 of 45"


def test_the_page_size_is_kept_across_pages_filters_and_orders(user, aws, accounts):
    add(aws, accounts, USER, 13, status=lambda n: "done" if n % 2 else "open")
    page = user.get("/records?size=5&sort=due_asc&status=open").get_data(as_text=True)
    assert len(shown(page)) == 5 and span(page).startswith("1-5 of")
    older = link(page, "next")
    assert "size=5" in older and "sort=due_asc" in older and "status=open" in older
    newer = link(user.get(older).get_data(as_text=True), "prev")
    assert "size=5" in newer and "sort=due_asc" in newer
    assert '<option value="5" selected>5</option>' in page  # the picker shows the size in use among its offers
    assert '<option value="due_asc" selected>' in page and '<option value="open" selected>' in page
    assert re.findall(r'<option value="(\d+)"', page) == ["5", "10", "20", "50", "100"]
    export = re.search(r'href="(/records/export.csv[^"]*)"', page).group(1)
    assert "sort=due_asc" in export and "status=open" in export


def test_a_cursor_is_bound_to_its_order_and_an_unknown_order_is_a_400(user, aws, accounts):
    add(aws, accounts, USER, 7)
    older = link(user.get("/records?size=5&sort=due_asc").get_data(as_text=True), "next")
    assert user.get(older.replace("sort=due_asc", "sort=due_desc")).status_code == 400
    assert user.get(older).status_code == 200
    refused = user.get("/records?sort=title")
    assert refused.status_code == 400 and "Unknown order" in refused.get_data(as_text=True)


def test_the_owner_picker_offers_verified_emails_by_prefix_to_admins_only(admin, user, client, aws, monkeypatch):
    cognito = aws["session"].client("cognito-idp")
    pool = aws["COGNITO_USER_POOL_ID"]
    for email, verified in (("usha@example.com", "true"), ("usual@example.com", "false")):
        attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": verified}]
        cognito.admin_create_user(UserPoolId=pool, Username=email, UserAttributes=attributes, MessageAction="SUPPRESS")
    asked = []
    monkeypatch.setattr("webapp.cognito.Cognito._call", record_calls(asked))
    answer = admin.get("/records/owners?q=US")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.get_json() == {"emails": ["user@example.com", "usha@example.com"]}  # not the unverified one
    assert asked == [("list_users", 'email ^= "us"', 8)]  # one filtered ListUsers, a small Limit
    assert admin.get("/records/owners?q=").get_json() == {"emails": []} and len(asked) == 1  # nothing to ask
    assert admin.get("/records/owners?q=" + "u" * 101).status_code == 400
    assert user.get("/records/owners?q=us").status_code == 403
    assert client.get("/records/owners?q=us").status_code == 302  # anonymous: sent to sign in
    html = admin.get("/records").get_data(as_text=True)
    assert 'data-owner-picker="/records/owners"' in html and "js/owner-picker.js" in html
    assert "owner-picker.js" not in user.get("/records").get_data(as_text=True)


def record_calls(asked):
    from webapp.cognito import Cognito

    original = Cognito._call

    def call(self, operation, **params):
        asked.append((operation, params.get("Filter"), params.get("Limit")))
        return original(self, operation, **params)

    return call


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/records/", "/records"),
        ("/records/?status=open&size=5", "/records?status=open&size=5"),
        ("/records/new/", "/records/new"),
        ("/account/", "/account"),
        ("/inbox/", "/inbox"),
        ("/admin/users/?q=us", "/admin/users?q=us"),
        ("/records//", "/records"),
    ],
)
def test_a_page_address_with_a_trailing_slash_leads_to_the_page(user, admin, path, canonical):
    answer = (admin if path.startswith("/admin") else user).get(path)
    assert answer.status_code == 308 and answer.location == canonical
    assert (admin if path.startswith("/admin") else user).get(path, follow_redirects=True).status_code == 200


def test_a_trailing_slash_leads_only_to_pages_that_exist(user, client):
    record = uuid.uuid4()
    assert user.get(f"/records/{record}/").location == f"/records/{record}"  # then the record's own 404
    assert user.get("/nothing-here/").status_code == 404
    assert user.post("/records/new/").status_code in (400, 404)  # a form is never redirected
    assert user.get("/api/v1/records/").mimetype == "application/problem+json"  # the API: what it asked for
    assert client.get("/records/").location == "/records"  # the same for anyone: then sign-in, as for /records
