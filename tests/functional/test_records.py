"""The records pages: list, show, create, edit, delete, restore, export, the dashboard; bad input of every kind."""

import re
import uuid

import pytest

from tests.support.forms import ADMIN, ADMIN_PASSWORD, USER, HostedLoginBrowser, hidden
from tests.support.records import GOOD, create, edit_form, new_form
from webapp.errors import MESSAGES


def record_count(aws):
    items = aws["session"].client("dynamodb").scan(TableName="webapp-records")["Items"]
    return sum(1 for item in items if "owner" in item)


def test_a_user_creates_a_record_and_sees_it_with_its_history(user, aws):
    record_id = create(user)
    page = user.get(f"/records/{record_id}").get_data(as_text=True)
    for shown in ("Quarterly invoice", "1,250.40", "2027-01-31", "finance, q1", "Check totals", "Created"):
        assert shown in page
    assert record_count(aws) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "Title is required."),
        ("title", "x" * 121, "Use at most 120 characters."),
        ("status", "archived", "Not a valid choice."),
        ("amount", "lots", "Enter a number, like 1234.50 or 1.234,50."),
        ("amount", "12.3456", "Use at most 2 decimal places."),
        ("amount", "1.234", "“1.234” could mean 1,234 or 1.234."),  # a thousands mark or a decimal one
        ("amount", "1,234", "“1,234” could mean 1,234 or 1.234."),
        ("amount", "1,23.4", "thousands come in groups of three"),
        ("amount", "-1", "Enter a number from 0 to 999,999,999.99."),
        ("amount", "1 000 000 000", "Enter a number from 0 to 999,999,999.99."),
        ("amount", "NaN", "Enter a number, like 1234.50 or 1.234,50."),
        ("amount", "sNaN", "Enter a number, like 1234.50 or 1.234,50."),
        ("amount", "-Infinity", "Enter a number, like 1234.50 or 1.234,50."),
        ("amount", "1e400", "Enter a number, like 1234.50 or 1.234,50."),
        ("due", "2027-13-01", "Not a valid date value."),
        ("notes", "n" * 5001, "Use at most 5,000 characters."),
        ("tags", ",".join(f"t{n}" for n in range(11)), "Use at most 10 tags (you have 11)."),
        ("tags", "x" * 31, "longer than 30 characters"),
        ("tags", "<script>", "then use only letters, digits, spaces and hyphens"),
        ("tags", "-x", "must start with a letter or digit"),
        ("title", "Rent\x00", "Title contains an invisible control character (U+0000)"),
        ("title", "invoice\u202efdp.exe", "Title contains an invisible control character (U+202E)"),
        ("notes", "paid\x1b[2J", "Notes contains an invisible control character (U+001B)"),
        ("notes", "sub\x85total", "(U+0085)"),
    ],
)
def test_bad_input_is_refused_inline_keeping_what_was_typed_and_writing_nothing(user, aws, field, value, message):
    response = user.post("/records/new", data=new_form(user) | GOOD | {field: value})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'aria-invalid="true"' in html
    if field != "status" and len(value) < 200:
        from markupsafe import escape

        assert str(escape(value)) in html  # what the user typed is still there to fix
    assert record_count(aws) == 0


def test_a_double_submitted_create_form_creates_one_record(user, aws):
    form = new_form(user) | GOOD
    first = user.post("/records/new", data=form)
    second = user.post("/records/new", data=form)
    assert first.location == second.location
    assert record_count(aws) == 1


def test_a_create_form_without_its_id_is_refused(user, aws):
    form = new_form(user) | GOOD | {"submission_id": "not-a-uuid"}
    assert user.post("/records/new", data=form).status_code == 400
    assert record_count(aws) == 0


def test_edit_saves_and_the_history_shows_from_what_to_what(user):
    record_id = create(user)
    response = user.post(f"/records/{record_id}/edit", data=edit_form(user, record_id) | GOOD | {"status": "done"})
    assert response.status_code == 302
    page = user.get(f"/records/{record_id}").get_data(as_text=True)
    assert "Updated" in page and "<del>Open</del>" in page and "<ins>Done</ins>" in page


def test_a_stale_edit_shows_both_versions_and_loses_nothing(user, admin):
    record_id = create(user)
    mine = edit_form(user, record_id) | GOOD | {"title": "My title"}
    theirs = edit_form(admin, record_id) | GOOD | {"title": "Their title"}
    assert admin.post(f"/records/{record_id}/edit", data=theirs).status_code == 302
    conflict = user.post(f"/records/{record_id}/edit", data=mine)
    assert conflict.status_code == 409
    html = conflict.get_data(as_text=True)
    assert "changed since you opened it" in html
    assert 'data-testid="theirs-title">Their title<' in html and 'data-testid="mine-title">My title<' in html
    on_top = (
        {"csrf_token": hidden(html, "csrf_token"), "version": hidden(html, "version")} | GOOD | {"title": "My title"}
    )
    assert user.post(f"/records/{record_id}/edit", data=on_top).status_code == 302
    assert "My title" in user.get(f"/records/{record_id}").get_data(as_text=True)


def test_a_double_submitted_edit_is_saved_once_without_a_conflict_page(user):
    record_id = create(user)
    form = edit_form(user, record_id) | GOOD | {"title": "Once"}
    assert user.post(f"/records/{record_id}/edit", data=form).status_code == 302
    again = user.post(f"/records/{record_id}/edit", data=form)
    assert again.status_code == 302 and again.location.endswith(record_id)


def test_delete_asks_first_then_deletes_and_an_admin_restores(user, admin, aws):
    record_id = create(user)
    confirm = user.get(f"/records/{record_id}/delete")
    assert "Delete “Quarterly invoice”?" in confirm.get_data(as_text=True)
    html = confirm.get_data(as_text=True)
    form = {"csrf_token": hidden(html, "csrf_token"), "version": hidden(html, "version")}
    assert user.post(f"/records/{record_id}/delete", data=form).status_code == 302
    assert user.get(f"/records/{record_id}").status_code == 404
    assert user.get("/records/deleted").status_code == 403
    deleted = admin.get("/records/deleted").get_data(as_text=True)
    assert "Quarterly invoice" in deleted
    restore = admin.post(f"/records/{record_id}/restore", data={"csrf_token": hidden(deleted, "csrf_token")})
    assert restore.status_code == 302
    assert user.get(f"/records/{record_id}").status_code == 200


def test_a_double_clicked_delete_ends_on_the_list_with_a_clear_message(user, aws):
    record_id = create(user)
    html = user.get(f"/records/{record_id}/delete").get_data(as_text=True)
    form = {"csrf_token": hidden(html, "csrf_token"), "version": hidden(html, "version")}
    assert user.post(f"/records/{record_id}/delete", data=form).status_code == 302
    again = user.post(f"/records/{record_id}/delete", data=form, follow_redirects=True)
    assert again.status_code == 200 and "That record no longer exists." in again.get_data(as_text=True)
    assert record_count(aws) == 0


def test_a_stale_delete_deletes_nothing(user, admin):
    record_id = create(user)
    html = user.get(f"/records/{record_id}/delete").get_data(as_text=True)
    form = {"csrf_token": hidden(html, "csrf_token"), "version": hidden(html, "version")}
    admin.post(f"/records/{record_id}/edit", data=edit_form(admin, record_id) | GOOD | {"title": "Changed"})
    response = user.post(f"/records/{record_id}/delete", data=form)
    assert response.status_code == 302
    assert user.get(f"/records/{record_id}").status_code == 200


def test_a_user_cannot_restore(user, admin):
    record_id = create(user)
    token = edit_form(user, record_id)["csrf_token"]
    assert user.post(f"/records/{record_id}/restore", data={"csrf_token": token}).status_code == 403


@pytest.mark.parametrize("path", ["", "/edit", "/delete", "/history"])
def test_another_users_record_is_a_404_like_a_missing_one(app, accounts, user, path):
    other = HostedLoginBrowser(app.test_client())
    other.sign_in(ADMIN, ADMIN_PASSWORD)
    theirs = create(other.client)
    assert user.get(f"/records/{theirs}{path}").status_code == 404
    assert user.get(f"/records/{uuid.uuid4()}{path}").status_code == 404
    assert user.get(f"/records/not-a-uuid{path}").status_code == 404


def count_dynamodb_calls(app, monkeypatch):
    """The page's own DynamoDB calls: the navigation bar's inbox bell adds one BatchGetItem of the inbox table to
    every page, counted in tests/functional/test_inbox.py."""
    from webapp import aws

    with app.app_context():
        client = aws.client("dynamodb")
    calls = []
    original = client._make_api_call

    def counted(op, params):
        if app.config["INBOX_TABLE"] not in params.get("RequestItems", {}):
            calls.append(op)
        return original(op, params)

    monkeypatch.setattr(client, "_make_api_call", counted)
    return calls


def test_a_list_page_is_one_query_plus_the_session_read_and_never_a_scan(user, app, monkeypatch):
    for n in range(25):
        create(user, title=f"Record {n}")
    user.get("/records")  # shows (and so removes) the creations' flash messages: a session change
    calls = count_dynamodb_calls(app, monkeypatch)
    page = user.get("/records")
    assert page.status_code == 200
    assert calls == ["GetItem", "Query", "GetItem"]  # and the counter, for "1-20 of 25": not the last page
    html = page.get_data(as_text=True)
    assert html.count('href="/records/') >= 20 and "Record 24" in html and "Record 4" not in html
    calls.clear()
    older = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "Record 4" in user.get(older).get_data(as_text=True)
    assert calls == ["GetItem", "Query"]


def test_a_status_filtered_page_is_one_query_too(user, app, monkeypatch):
    create(user, status="done")
    user.get("/records")  # the creation's flash message is shown (and removed) here
    calls = count_dynamodb_calls(app, monkeypatch)
    assert user.get("/records?status=done").status_code == 200
    assert calls == ["GetItem", "Query"]


@pytest.mark.parametrize(
    "query",
    ["status=archived", "q=" + "x" * 101, "size=0", "size=1000", "size=abc", "cursor=forged", "cursor=" + "a" * 3000],
)
def test_bad_list_parameters_are_a_clear_400_saying_what_is_wrong(user, query):
    response = user.get(f"/records?{query}")
    assert response.status_code == 400
    said = re.search(r'<p class="lead">([^<]*)</p>', response.get_data(as_text=True)).group(1)
    assert said != MESSAGES[400][1] and len(said) > 20, said


def test_a_cursor_made_for_one_filter_is_refused_for_another(user):
    for n in range(3):
        create(user, title=f"R{n}")
    html = user.get("/records?size=5&status=open").get_data(as_text=True)
    html = user.get("/records?size=5").get_data(as_text=True) if 'rel="next"' not in html else html
    for n in range(3, 8):
        create(user, title=f"R{n}")
    page = user.get("/records?size=5").get_data(as_text=True)
    cursor = re.search(r"cursor=([^\"&]+)", page).group(1)
    assert user.get(f"/records?size=5&status=done&cursor={cursor}").status_code == 400


def test_an_admin_sees_everyones_records_and_filters_by_owner(user, admin):
    create(user, title="User's record")
    create(admin, title="Admin's record")
    assert "Admin's record" not in user.get("/records").get_data(as_text=True)
    everyone = admin.get("/records").get_data(as_text=True)
    assert "User&#39;s record" in everyone and "Admin&#39;s record" in everyone
    only_user = admin.get(f"/records?owner={USER}").get_data(as_text=True)
    assert "User&#39;s record" in only_user and "Admin&#39;s record" not in only_user
    assert "No records match" in admin.get("/records?owner=nobody@example.com").get_data(as_text=True)


def test_csv_export_is_streamed_filtered_and_safe_in_spreadsheets(user):
    create(user, title='=HYPERLINK("http://evil")', status="done")
    create(user, title="Plain", status="open")
    response = user.get("/records/export.csv?status=done")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    import codecs
    import csv
    import datetime as dt
    import io

    body = response.get_data()
    assert body.startswith(codecs.BOM_UTF8)  # spreadsheets then read it as UTF-8: "—" and "é" survive
    today = dt.datetime.now(dt.UTC).date()
    assert response.headers["Content-Disposition"] == f'attachment; filename="records-{today}.csv"'
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["Id", "Title", "Status", "Amount", "Due date", "Notes", "Tags", "Created", "Updated", "Version"]
    assert len(rows) == 2
    assert rows[1][1] == '\'=HYPERLINK("http://evil")'  # a spreadsheet shows it as text, never runs it
    assert rows[1][2:7] == ["Done", "1250.40", "2027-01-31", "Check totals", "finance;q1"]


def test_the_dashboard_counts_by_status_and_shows_recent_activity(user, aws):
    create(user, status="open", title="First")
    create(user, status="done", title="Second")
    aws.events.drain()
    html = user.get("/").get_data(as_text=True)
    assert 'data-testid="count-open">1<' in html and 'data-testid="count-done">1<' in html
    assert "Second" in html and "<svg" in html


def test_when_dynamodb_is_throttling_the_form_comes_back_with_the_input_and_a_503(user, app, aws, monkeypatch):
    from botocore.exceptions import ClientError

    from webapp import aws as app_aws

    form = new_form(user) | GOOD | {"title": "Keep me"}
    with app.app_context():
        client = app_aws.client("dynamodb")

    def throttled(**kwargs):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems")

    monkeypatch.setattr(client, "transact_write_items", throttled)
    response = user.post("/records/new", data=form)
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert 'value="Keep me"' in html and "nothing was saved" in html
    assert record_count(aws) == 0


def test_a_list_page_when_dynamodb_fails_is_the_503_page(user, app, monkeypatch):
    from botocore.exceptions import ClientError

    from webapp import aws as app_aws

    with app.app_context():
        client = app_aws.client("dynamodb")

    def failing(**kwargs):
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "oops"}}, "Query")

    monkeypatch.setattr(client, "query", failing)
    response = user.get("/records")
    assert response.status_code == 503
    assert "Service unavailable" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("-0", "0.00"),
        ("7", "7.00"),
        ("0.1", "0.10"),
        ("12,50", "12.50"),  # a decimal comma is a decimal mark, never a thousands one (was stored as 1,250.00)
        ("1.234,5", "1,234.50"),
        (" 1 234.50 ", "1,234.50"),
        ("€1,234.50", "1,234.50"),
    ],
)
def test_amounts_are_stored_with_exactly_the_declared_places(user, typed, stored):
    record_id = create(user, amount=typed)
    page = user.get(f"/records/{record_id}").get_data(as_text=True)
    assert re.search(r'data-testid="value-amount">\s*([^<]*?)\s*<', page).group(1) == stored


@pytest.mark.parametrize("version", ["²", "", "1" * 20, "-1"])
def test_an_unreadable_version_is_a_400_for_edit_and_delete(user, version):
    record_id = create(user)
    token = edit_form(user, record_id)["csrf_token"]
    assert (
        user.post(f"/records/{record_id}/edit", data={"csrf_token": token, "version": version} | GOOD).status_code
        == 400
    )
    assert user.post(f"/records/{record_id}/delete", data={"csrf_token": token, "version": version}).status_code == 400


def test_an_edit_without_a_version_field_is_a_400(user):
    record_id = create(user)
    assert (
        user.post(
            f"/records/{record_id}/edit", data={"csrf_token": edit_form(user, record_id)["csrf_token"]} | GOOD
        ).status_code
        == 400
    )


def test_a_non_ascii_page_size_is_a_400(user):
    assert user.get("/records?size=²").status_code == 400


def test_a_create_form_made_for_another_user_is_refused(user, admin, aws):
    theirs = new_form(admin)
    mine = new_form(user)
    response = user.post("/records/new", data=mine | {"submission_id": theirs["submission_id"]} | GOOD)
    assert response.status_code == 400
    assert record_count(aws) == 0


def test_resubmitting_a_create_form_after_its_record_was_deleted_does_not_bring_it_back(user, admin, aws):
    form = new_form(user) | GOOD
    record_id = user.post("/records/new", data=form).location.rsplit("/", 1)[1]
    html = user.get(f"/records/{record_id}/delete").get_data(as_text=True)
    user.post(f"/records/{record_id}/delete", data={"csrf_token": hidden(html, "csrf_token"), "version": "1"})
    again = user.post("/records/new", data=form, follow_redirects=True)
    assert "the record it created has been deleted since" in again.get_data(as_text=True)
    assert record_count(aws) == 0
    deleted = admin.get("/records/deleted").get_data(as_text=True)
    assert (
        admin.post(f"/records/{record_id}/restore", data={"csrf_token": hidden(deleted, "csrf_token")}).status_code
        == 302
    )
    assert user.get(f"/records/{record_id}").status_code == 200  # still restorable


def test_an_admin_sees_a_deleted_records_last_values_and_history_and_restores_it_there(user, admin):
    record_id = create(user, title="Gone for now")
    html = user.get(f"/records/{record_id}/delete").get_data(as_text=True)
    user.post(f"/records/{record_id}/delete", data={"csrf_token": hidden(html, "csrf_token"), "version": "1"})
    assert user.get(f"/records/{record_id}").status_code == 404
    page = admin.get(f"/records/{record_id}").get_data(as_text=True)
    assert "Gone for now" in page and "Deleted by user@example.com" in page and ">Restore</button>" in page


def history_of(html):
    return html.split('data-testid="history"', 1)[1]


def test_a_records_page_shows_its_newest_history_and_links_to_the_whole_of_it(user):
    record_id = create(user)
    for n in range(22):
        form = edit_form(user, record_id) | GOOD | {"title": f"Edit {n}"}
        assert user.post(f"/records/{record_id}/edit", data=form).status_code == 302
    page = user.get(f"/records/{record_id}").get_data(as_text=True)
    assert history_of(page).count("<li class=") == 5 and "Created" not in history_of(page)
    full = re.search(r'href="([^"]+)">Full history', page).group(1)
    first = user.get(full).get_data(as_text=True)
    assert "History of Edit 21" in first and history_of(first).count("<li class=") == 20
    older = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "Created" in history_of(user.get(older).get_data(as_text=True))


def test_a_long_change_is_cut_short_on_the_record_page_and_shown_whole_in_the_full_history(user):
    record_id = create(user)
    long_notes = "word " * 400
    form = edit_form(user, record_id) | GOOD | {"notes": long_notes}
    assert user.post(f"/records/{record_id}/edit", data=form).status_code == 302
    page = user.get(f"/records/{record_id}").get_data(as_text=True)
    assert long_notes.strip() not in history_of(page) and "…" in history_of(page)
    full = re.search(r'href="([^"]+)">Full history', page).group(1)
    assert long_notes.strip() in history_of(user.get(full).get_data(as_text=True))


def test_a_deleted_records_history_is_gone_for_its_owner_and_kept_for_admins(user, admin):
    record_id = create(user)
    html = user.get(f"/records/{record_id}/delete").get_data(as_text=True)
    user.post(f"/records/{record_id}/delete", data={"csrf_token": hidden(html, "csrf_token"), "version": "1"})
    assert user.get(f"/records/{record_id}/history").status_code == 404
    assert "Deleted" in history_of(admin.get(f"/records/{record_id}/history").get_data(as_text=True))


def test_a_new_records_page_needs_no_full_history_link(user):
    record_id = create(user)
    page = user.get(f"/records/{record_id}").get_data(as_text=True)
    assert "Created" in history_of(page) and "Full history" not in page


def test_an_admins_page_of_a_deleted_record_is_the_session_read_plus_one_query(user, admin, app, monkeypatch):
    record_id = create(user)
    html = user.get(f"/records/{record_id}/delete").get_data(as_text=True)
    user.post(f"/records/{record_id}/delete", data={"csrf_token": hidden(html, "csrf_token"), "version": "1"})
    admin.get(f"/records/{record_id}")  # settles the admin's session
    calls = count_dynamodb_calls(app, monkeypatch)
    page = admin.get(f"/records/{record_id}").get_data(as_text=True)
    assert "Deleted by user@example.com" in page and "Created" in history_of(page)
    assert calls == ["GetItem", "GetItem", "Query"]  # session, the tombstone, the history with the last values


def test_a_records_page_is_the_session_read_plus_one_getitem(user, app, monkeypatch):
    record_id = create(user)
    user.get(f"/records/{record_id}")  # the creation's flash message is shown (and removed) here
    calls = count_dynamodb_calls(app, monkeypatch)
    assert user.get(f"/records/{record_id}").status_code == 200
    assert calls == ["GetItem", "GetItem"]
    calls.clear()
    assert user.get(f"/records/{record_id}/history").status_code == 200
    assert calls == ["GetItem", "Query"]


def test_a_record_written_before_history_was_kept_in_it_still_shows_its_history(user, app, aws):
    record_id = create(user)
    with app.app_context():
        from webapp import aws as clients

        clients.client("dynamodb").update_item(
            TableName=app.config["RECORDS_TABLE"],
            Key={"record_id": {"S": record_id}},
            UpdateExpression="REMOVE recent, history_count",
        )
    page = user.get(f"/records/{record_id}").get_data(as_text=True)
    assert "Created" in history_of(page)
    form = edit_form(user, record_id) | GOOD | {"title": "After the upgrade"}
    assert user.post(f"/records/{record_id}/edit", data=form).status_code == 302
    assert "Updated" in history_of(user.get(f"/records/{record_id}").get_data(as_text=True))


def test_deleted_records_beyond_a_page_can_be_reached(user, admin):
    for n in range(27):
        record_id = create(user, title=f"Deleted {n:02d}")
        html = user.get(f"/records/{record_id}/delete").get_data(as_text=True)
        user.post(f"/records/{record_id}/delete", data={"csrf_token": hidden(html, "csrf_token"), "version": "1"})
    first = admin.get("/records/deleted").get_data(as_text=True)
    older = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "Deleted 00" in admin.get(older).get_data(as_text=True) and "Deleted 00" not in first


def test_newer_from_a_page_whose_newer_records_were_deleted_shows_the_first_page_skipping_nothing(user):
    ids = [create(user, title=f"Item {n}") for n in range(10)]
    first = user.get("/records?size=5").get_data(as_text=True)
    second_url = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = user.get(second_url).get_data(as_text=True)
    for record_id in ids[5:]:  # everything on the first page goes away
        html = user.get(f"/records/{record_id}/delete").get_data(as_text=True)
        user.post(f"/records/{record_id}/delete", data={"csrf_token": hidden(html, "csrf_token"), "version": "1"})
    newer_url = re.search(r'href="([^"]+)" rel="prev"', second).group(1).replace("&amp;", "&")
    newer = user.get(newer_url).get_data(as_text=True)
    assert [f"Item {n}" for n in (4, 3, 2, 1, 0)] == re.findall(r">(Item \d)</a>", newer)


def test_when_reading_the_record_fails_on_save_the_input_is_kept_with_a_503(user, app, monkeypatch):
    from botocore.exceptions import ClientError

    from webapp import aws as app_aws

    record_id = create(user)
    form = edit_form(user, record_id) | GOOD | {"notes": "Typed before the outage"}
    with app.app_context():
        client = app_aws.client("dynamodb")
    original = client._make_api_call

    def throttled(op, params):
        if op == "GetItem" and params.get("TableName") == "webapp-records":
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, op)
        return original(op, params)

    monkeypatch.setattr(client, "_make_api_call", throttled)
    response = user.post(f"/records/{record_id}/edit", data=form)
    assert response.status_code == 503
    assert "Typed before the outage" in response.get_data(as_text=True)


def test_pasted_tabs_and_breaks_in_a_title_become_a_space_notes_keep_theirs_and_a_bom_is_trimmed(app, user, aws):
    record_id = create(user, title="\ufeff  Rent\t\tMarch\r\n2027 ", notes="Line one\r\n\tindented\tcolumn\ufeff")
    item = (
        aws["session"]
        .client("dynamodb")
        .get_item(TableName=app.config["RECORDS_TABLE"], Key={"record_id": {"S": record_id}})["Item"]
    )
    assert item["title"] == {"S": "Rent March 2027"}
    assert item["notes"] == {"S": "Line one\r\n\tindented\tcolumn"}
