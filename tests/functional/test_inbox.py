"""The in-app inbox, through the app: what the inbox function stored shows up for exactly its audience, from
when each user joined; the bell in the navigation bar counts the unread on every page for one batch read and
never breaks a page; the inbox page marks one or all read (POST, CSRF, back to the page)."""

import logging
import re

import pytest

from tests.support.forms import ADMIN, USER, csrf, hidden, signed_in
from tests.support.inbox import deliver, fresh_worker, sns_event, sns_record
from webapp import inbox_handler

NEWCOMER, NEWCOMER_PASSWORD = "newcomer@example.com", "Newcomer-Passw0rd"


@pytest.fixture(autouse=True)
def worker(monkeypatch):
    """The inbox function's app, made for this test's emulated account."""
    fresh_worker(monkeypatch)


def bell(client, path="/records"):
    """The bell's unread count on a page ("" when it shows none), and the bell's accessible name."""
    page = client.get(path)
    assert page.status_code == 200, path
    html = page.get_data(as_text=True)
    link = re.search(r'<a [^>]*data-testid="inbox-bell" aria-label="([^"]*)">(.*?)</a>', html, re.S)
    count = re.search(r'data-testid="inbox-unread">(\d+)<', link.group(2))
    return (count.group(1) if count else ""), link.group(1)


def messages(client, path="/inbox"):
    """The inbox page's messages: (subject, unread) newest first, and the page's HTML."""
    html = client.get(path).get_data(as_text=True)
    found = re.findall(r'data-testid="inbox-message"( data-unread="true")?>.*?<h2[^>]*>(.*?)</h2>', html, re.S)
    return [(re.sub(r"<span[^>]*>Unread</span>", "", subject), bool(unread)) for unread, subject in found], html


def message_items(aws):
    """The inbox table's message items (pk, sk), whoever they are for."""
    table = aws["session"].client("dynamodb").scan(TableName="webapp-inbox")["Items"]
    return sorted((item["pk"]["S"], item["sk"]["S"]) for item in table if item["sk"]["S"].startswith("m#"))


def new_account(app, aws, email=NEWCOMER, password=NEWCOMER_PASSWORD):
    cognito = aws["session"].client("cognito-idp")
    attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
    pool = aws["COGNITO_USER_POOL_ID"]
    cognito.admin_create_user(UserPoolId=pool, Username=email, UserAttributes=attributes, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password=password, Permanent=True)
    return signed_in(app, email, password)


def mark_read(client, message_id, **extra):
    return client.post("/inbox/read", data={"csrf_token": csrf(client), "message": message_id} | extra)


# Who sees what


def test_an_admins_broadcast_reaches_every_users_inbox_as_one_item(user, admin, aws):
    bell(user), bell(admin)  # both have been here before the message
    page = admin.post(
        "/notifications/preview",
        data={"csrf_token": csrf(admin), "audience": "all", "subject": "Maintenance", "message": "Saturday, 9-11"},
        follow_redirects=True,
    ).get_data(as_text=True)
    fields = ("csrf_token", "send_id", "audience", "user_email", "subject", "message")
    assert admin.post("/notifications/send", data={name: hidden(page, name) for name in fields}).status_code == 303
    from tests.functional.test_notifications import sns_backend

    [(message_id, text, subject, attributes, _)] = sns_backend().topics[aws["SNS_TOPIC_ARN"]].sent_notifications
    record = sns_record(attributes["audience"]["Value"], subject, text, attributes["event"]["Value"], message_id)
    assert inbox_handler.handler(sns_event(record), None)["stored"] == 1  # as SNS delivers it to the function
    assert message_items(aws) == [("all", "m#000000000001")]
    for client in (user, admin):
        assert bell(client) == ("1", "Inbox, 1 unread")
        listed, html = messages(client)
        assert listed == [("Maintenance", True)] and "Saturday, 9-11" in html


def test_a_message_to_one_user_is_in_their_inbox_only(user, admin, accounts):
    deliver(f"user:{accounts[USER]}", subject="Your record was updated", event="record.changed")
    assert bell(user)[0] == "1" and messages(user)[0] == [("Your record was updated", True)]
    assert bell(admin)[0] == "" and messages(admin)[0] == []


def test_a_message_to_the_admins_is_in_the_admins_inbox_only(user, admin):
    bell(user), bell(admin)
    deliver("group:admin", subject="For admins")
    assert messages(admin)[0] == [("For admins", True)] and messages(user)[0] == []


def test_a_user_who_joined_after_a_broadcast_does_not_see_it(app, aws, user, accounts):
    bell(user)
    deliver("all", subject="Before the newcomer")
    newcomer = new_account(app, aws)
    assert bell(newcomer)[0] == "" and messages(newcomer)[0] == []
    deliver("all", subject="After the newcomer")
    assert messages(newcomer)[0] == [("After the newcomer", True)]
    assert [subject for subject, _ in messages(user)[0]] == ["After the newcomer", "Before the newcomer"]


def test_message_text_is_shown_as_text_never_as_markup(user):
    bell(user)
    deliver("all", subject="<script>alert(1)</script>", message='<img src=x onerror="alert(2)">')
    listed, html = messages(user)
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=" in html
    assert listed == [("&lt;script&gt;alert(1)&lt;/script&gt;", True)]


# The bell


def test_the_bell_is_on_every_signed_in_page_and_not_for_visitors(user, admin, client):
    bell(user), bell(admin)
    deliver("all")
    for path in ("/", "/records", "/records/new", "/account", "/account/two-step", "/inbox"):
        assert bell(user, path)[0] == "1", path
    for path in ("/admin/users", "/notifications", "/records/deleted"):
        assert bell(admin, path)[0] == "1", path
    assert 'data-testid="inbox-bell"' not in client.get("/").get_data(as_text=True)


def inbox_calls(app, monkeypatch):
    """The DynamoDB calls the app makes from now on, each as (operation, tables)."""
    from webapp import aws

    with app.app_context():
        client = aws.client("dynamodb")
    calls, original = [], client._make_api_call

    def record(operation, params):
        tables = sorted(params.get("RequestItems", {})) or [params.get("TableName")]
        calls.append((operation, *tables))
        return original(operation, params)

    monkeypatch.setattr(client, "_make_api_call", record)
    return calls


def test_the_bell_costs_one_batch_read_of_the_inbox_on_an_ordinary_page(app, user, monkeypatch):
    bell(user)
    deliver("all")
    calls = inbox_calls(app, monkeypatch)
    assert bell(user, "/records")[0] == "1"
    assert calls == [("GetItem", "webapp-sessions"), ("Query", "webapp-records"), ("BatchGetItem", "webapp-inbox")]
    calls.clear()
    assert bell(user, "/account")[0] == "1"
    assert [call for call in calls if "webapp-inbox" in call] == [("BatchGetItem", "webapp-inbox")]


def test_the_inbox_page_reads_the_count_once_and_one_query_per_partition(app, admin, monkeypatch):
    bell(admin)
    calls = inbox_calls(app, monkeypatch)
    admin.get("/inbox")
    inbox = [operation for operation, *tables in calls if "webapp-inbox" in tables]
    assert inbox == ["BatchGetItem", "Query", "Query", "Query"]  # the admin's own, everyone's, the admins'


def test_the_bell_is_exact_after_new_messages_and_after_marking_read(user, accounts):
    bell(user)
    first = deliver("all", subject="First")
    deliver(f"user:{accounts[USER]}", subject="Second")
    assert bell(user)[0] == "2"
    assert mark_read(user, first).status_code == 302
    assert bell(user)[0] == "1"
    deliver("all", subject="Third")
    assert bell(user) == ("2", "Inbox, 2 unread")


def test_a_failing_inbox_read_costs_the_page_nothing_but_the_count(app, user, monkeypatch, caplog):
    from botocore.exceptions import ClientError

    from webapp import aws

    bell(user)
    deliver("all")
    with app.app_context():
        client = aws.client("dynamodb")
    original = client._make_api_call

    def inbox_down(operation, params):
        if "webapp-inbox" in params.get("RequestItems", {}):
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, operation)
        return original(operation, params)

    monkeypatch.setattr(client, "_make_api_call", inbox_down)
    caplog.set_level(logging.WARNING, logger="webapp.inbox.bell")
    assert bell(user, "/records") == ("", "Inbox")
    assert any("unread count could not be read" in line for line in caplog.messages)


# Marking read


def test_mark_one_read_goes_back_to_the_page_and_leaves_the_others_unread(user):
    bell(user)
    first = deliver("all", subject="First", timestamp="2026-11-30T10:00:00.000Z")
    deliver("all", subject="Second", timestamp="2026-11-30T11:00:00.000Z")
    answer = mark_read(user, first)
    assert answer.status_code == 302 and answer.location.endswith("/inbox")
    assert messages(user)[0] == [("Second", True), ("First", False)]


def test_mark_one_read_on_an_older_page_goes_back_to_that_page(user):
    bell(user)
    ids = [deliver("all", subject=f"Message {n}", timestamp=f"2026-11-30T10:{n:02d}:00.000Z") for n in range(23)]
    listed, html = messages(user)
    assert len(listed) == 20 and listed[0] == ("Message 22", True)
    older = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    listed, html = messages(user, older)
    assert [subject for subject, _ in listed] == ["Message 2", "Message 1", "Message 0"]
    answer = mark_read(user, ids[1], cursor=hidden(html, "cursor"))
    assert answer.status_code == 302 and answer.location.endswith(older.removeprefix("/inbox"))
    assert messages(user, older)[0] == [("Message 2", True), ("Message 1", False), ("Message 0", True)]


def test_mark_all_read_marks_what_the_page_showed(user):
    bell(user)
    deliver("all", subject="First")
    deliver("all", subject="Second")
    html = user.get("/inbox").get_data(as_text=True)
    deliver("all", subject="Arrived since the page was shown")
    form = {"csrf_token": hidden(html, "csrf_token"), "seen": hidden(html, "seen")}
    answer = user.post("/inbox/read-all", data=form)
    assert answer.status_code == 302 and answer.location.endswith("/inbox")
    listed, html = messages(user)
    assert listed == [("Arrived since the page was shown", True), ("Second", False), ("First", False)]
    assert "All messages marked as read." in html and bell(user)[0] == "1"


def test_another_users_message_is_a_404_like_a_missing_one(app, aws, user, accounts):
    bell(user)
    newcomer = new_account(app, aws)
    theirs = deliver(f"user:{accounts[USER]}", subject="Private")
    assert mark_read(newcomer, theirs).status_code == 404
    assert mark_read(newcomer, "00000000-0000-0000-0000-000000000000").status_code == 404
    assert mark_read(user, theirs).status_code == 302  # (its owner may)
    assert bell(newcomer)[0] == "" and "Private" not in messages(newcomer)[1]


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/inbox/read", {"message": "x" * 101}),
        ("/inbox/read", {}),
        ("/inbox/read", {"message": "m\x00"}),
        ("/inbox/read", {"message": "é"}),
        ("/inbox/read", {"message": "00000000-0000-0000-0000-000000000000", "cursor": "<script>"}),
        ("/inbox/read", {"message": "00000000-0000-0000-0000-000000000000", "cursor": "a" * 3000}),
        ("/inbox/read-all", {"seen": "all=one"}),
        ("/inbox/read-all", {"seen": ""}),
        ("/inbox/read-all", {"seen": "all=1\nall=2"}),
        ("/inbox/read-all", {"seen": "all=" + "9" * 13}),
        ("/inbox/read-all", {"seen": " ".join(["all=1"] * 200)}),
    ],
)
def test_a_malformed_form_is_a_400_and_marks_nothing(user, path, form):
    bell(user)
    deliver("all")
    assert user.post(path, data={"csrf_token": csrf(user)} | form).status_code == 400
    assert bell(user)[0] == "1"


@pytest.mark.parametrize("path", ["/inbox/read", "/inbox/read-all"])
def test_marking_read_without_a_csrf_token_is_refused_and_marks_nothing(user, path):
    bell(user)
    message_id = deliver("all")
    html = user.get("/inbox").get_data(as_text=True)
    answer = user.post(path, data={"message": message_id, "seen": hidden(html, "seen")})
    assert answer.status_code == 400 and "This form had expired, so nothing was saved." in answer.get_data(as_text=True)
    assert bell(user)[0] == "1"


def test_a_forged_page_link_or_one_made_for_another_users_inbox_is_the_400_page(app, aws, user):
    assert user.get("/inbox?cursor=forged").status_code == 400
    newcomer = new_account(app, aws)
    for n in range(21):
        deliver(f"user:{_sub(aws, NEWCOMER)}", subject=f"Theirs {n}")
    older = re.search(r'href="([^"]+)" rel="next"', messages(newcomer)[1]).group(1).replace("&amp;", "&")
    assert newcomer.get(older).status_code == 200
    assert user.get(older).status_code == 400  # signed for the newcomer's inbox


def _sub(aws, email):
    cognito = aws["session"].client("cognito-idp")
    user = cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=email)
    return next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")


@pytest.mark.parametrize("operation", ["BatchGetItem", "Query", "PutItem"])
def test_dynamodb_failing_on_the_inbox_page_or_a_mark_is_the_503_page_and_marks_nothing(
    app, user, monkeypatch, operation
):
    from botocore.exceptions import ClientError

    from webapp import aws

    bell(user)
    message_id = deliver("all")
    with app.app_context():
        client = aws.client("dynamodb")
    original = client._make_api_call

    def failing(name, params):
        if name == operation and "webapp-inbox" in str(params):
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "no"}}, name)
        return original(name, params)

    token = csrf(user)
    monkeypatch.setattr(client, "_make_api_call", failing)
    if operation == "Query":
        assert user.get("/inbox").status_code == 503
    else:
        answer = user.post("/inbox/read", data={"csrf_token": token, "message": message_id})
        assert answer.status_code == 503 and "Service unavailable" in answer.get_data(as_text=True)
    monkeypatch.setattr(client, "_make_api_call", original)
    assert bell(user)[0] == "1"


def test_the_inbox_needs_a_signed_in_user(client):
    answer = client.get("/inbox")
    assert answer.status_code == 302 and "/auth/login" in answer.location


def test_an_admin_sees_the_admins_messages_marked_as_theirs(admin):
    bell(admin)
    deliver("group:admin", subject="For admins")
    html = messages(admin)[1]
    assert "to Group admin" in html and ADMIN not in html.split("inbox-messages")[1]
