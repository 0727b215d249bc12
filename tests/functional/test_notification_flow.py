"""The sending flow as a person walks it: the preview and the send answer 303 with a page to GET (so a reload or
Back sends nothing again), the draft stays until it is sent or discarded on purpose, a template name in use is
replaced only once confirmed, templates are edited (and a change made meanwhile is not overwritten unseen), and
an SMS says how many text messages it takes."""

import re

import pytest

from tests.functional.test_notifications import compose, send_from, sent
from tests.support.forms import csrf, hidden
from webapp.dynamodb import from_item

SEND_ID = re.compile(r"/notifications/sent\?send=([0-9a-f-]{36})$")


def preview_post(admin, **fields):
    form = {"csrf_token": csrf(admin), "audience": "all", "user_email": "", "subject": "Maintenance"}
    return admin.post("/notifications/preview", data=form | {"message": "Tonight at 10."} | fields)


def test_the_preview_is_a_page_of_its_own_and_the_send_answers_303_with_its_result(admin, aws):
    answer = preview_post(admin)
    assert answer.status_code == 303 and answer.location.endswith("/notifications/preview")
    preview = admin.get("/notifications/preview").get_data(as_text=True)
    assert 'data-testid="preview-message">Tonight at 10.<' in admin.get("/notifications/preview").get_data(as_text=True)
    response, _ = send_from(admin, preview)
    assert response.status_code == 303
    result_url = SEND_ID.search(response.location)
    assert result_url, response.location
    page = admin.get(response.location)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="sent-outcome">sent' in html and "Maintenance" in html
    assert "Sent “Maintenance” to everyone." in html
    for _ in range(2):  # reloading the result, or coming back to it, sends nothing
        assert admin.get(response.location).status_code == 200
    assert len(sent(aws)) == 1
    assert admin.get("/notifications/preview").location.endswith("/notifications")  # the draft went with it
    assert 'value="Maintenance"' not in admin.get("/notifications").get_data(as_text=True)


def test_a_resubmitted_send_goes_to_the_result_of_the_first(admin, aws):
    first, fields = send_from(admin, compose(admin).get_data(as_text=True))
    again = admin.post("/notifications/send", data=fields)
    assert again.status_code == 303 and again.location == first.location
    html = admin.get(again.location).get_data(as_text=True)
    assert "This form was already used" in html and 'data-testid="sent-outcome">sent' in html
    assert len(sent(aws)) == 1


def test_a_result_page_for_an_unknown_or_malformed_send_id(admin):
    assert admin.get("/notifications/sent?send=6f1c2a9e-5d4b-4c3a-9b8e-7a6f5e4d3c2b").status_code == 404
    assert admin.get("/notifications/sent?send=nope").location.endswith("/notifications/history")


def test_a_failed_send_is_shown_as_not_sent_and_the_month_counts_only_what_went(app, admin, aws, monkeypatch):
    from tests.functional.test_notifications import failing_publish

    preview = compose(admin).get_data(as_text=True)
    failing_publish(app, monkeypatch, "AuthorizationError")
    answer, _ = send_from(admin, preview)
    assert answer.status_code == 502
    monkeypatch.undo()
    retry = admin.post("/notifications/send", data={n: hidden(answer.get_data(as_text=True), n) for n in FIELDS})
    assert retry.status_code == 303 and len(sent(aws)) == 1
    with app.app_context():
        from webapp.services import sends

        assert sends.sent_this_month() == 1


FIELDS = ("csrf_token", "send_id", "audience", "user_email", "subject", "message")


def test_the_draft_is_kept_until_sent_or_discarded_after_asking(admin, aws):
    preview_post(admin, audience="admins", subject="Kept", message="Still here")
    page = admin.get("/notifications").get_data(as_text=True)
    assert 'value="Kept"' in page and "Still here</textarea>" in page and 'data-testid="draft-kept"' in page
    assert 'id="audience-admins" value="admins" checked' in page
    ask = admin.get("/notifications/start-over")
    assert ask.status_code == 200 and "Discard this draft and start over?" in ask.get_data(as_text=True)
    assert 'value="Kept"' in admin.get("/notifications").get_data(as_text=True)  # asking discards nothing
    done = admin.post("/notifications/start-over", data={"csrf_token": csrf(admin)})
    assert done.status_code == 303
    assert 'value="Kept"' not in admin.get("/notifications").get_data(as_text=True)
    assert admin.get("/notifications/start-over").location.endswith("/notifications")  # nothing to discard
    assert sent(aws) == []


def test_a_send_from_an_older_preview_leaves_a_newer_draft_alone(admin, aws):
    older = compose(admin, subject="Older").get_data(as_text=True)
    preview_post(admin, subject="Newer")
    send_from(admin, older)
    assert sent(aws)[0][0] == "Older"
    assert 'value="Newer"' in admin.get("/notifications").get_data(as_text=True)


def save_template(admin, name="Outage", subject="Outage", message="Back soon", **extra):
    form = {"csrf_token": csrf(admin), "name": name, "subject": subject, "message": message}
    return admin.post("/notifications/message-templates", data=form | extra)


def template(aws, name):
    item = (
        aws["session"]
        .client("dynamodb")
        .get_item(TableName="webapp-notifications", Key={"pk": {"S": "template"}, "sk": {"S": name}})
    )
    return from_item(item["Item"]) if "Item" in item else None


def test_saving_under_a_name_in_use_asks_first_and_replaces_only_once_confirmed(admin, aws):
    assert save_template(admin).status_code == 303
    asked = save_template(admin, subject="Outage, again", message="Longer this time")
    html = asked.get_data(as_text=True)
    assert asked.status_code == 409 and "A template named “Outage” exists: replace it with this one?" in html
    assert 'name="replace" value="Outage"' in html and 'value="Outage, again"' in html  # what was typed, kept
    assert template(aws, "Outage")["subject"] == "Outage"
    renamed = save_template(admin, name="Other", subject="S", replace="Outage")  # confirmed for another name
    assert renamed.status_code == 303 and template(aws, "Other")["subject"] == "S"
    assert save_template(admin, name="Other", subject="T", replace="Outage").status_code == 409
    confirmed = save_template(admin, subject="Outage, again", message="Longer this time", replace="Outage")
    assert confirmed.status_code == 303
    assert template(aws, "Outage")["message"] == "Longer this time"


def edit_page(admin, name="Outage"):
    return admin.get(f"/notifications/message-templates/edit?template={name}")


def edit(admin, page_html, **fields):
    form = {name: hidden(page_html, name) for name in ("csrf_token", "name", "seen")}
    form |= {"subject": "Outage", "message": "Back soon"} | fields
    return admin.post("/notifications/message-templates/edit", data=form)


def test_a_template_is_edited_on_its_own_page(admin, aws):
    save_template(admin, subject="Outage at {time}")
    listed = admin.get("/notifications/message-templates").get_data(as_text=True)
    assert 'href="/notifications/message-templates/edit?template=Outage"' in listed
    page = edit_page(admin)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="Outage at {time}"' in html and "Back soon</textarea>" in html
    saved = edit(admin, html, subject="Outage at {start}", message="Back by {end}")
    assert saved.status_code == 303
    assert (template(aws, "Outage")["subject"], template(aws, "Outage")["message"]) == (
        "Outage at {start}",
        "Back by {end}",
    )
    bad = edit(admin, html, subject="")
    assert bad.status_code == 422 and "Write a subject." in bad.get_data(as_text=True)


def test_an_edit_over_a_change_made_meanwhile_shows_it_and_needs_saving_again(app, admin, aws):
    save_template(admin)
    mine = edit_page(admin).get_data(as_text=True)
    edit(admin, edit_page(admin).get_data(as_text=True), message="Theirs")  # another tab, another admin
    clash = edit(admin, mine, message="Mine")
    html = clash.get_data(as_text=True)
    assert clash.status_code == 409 and 'data-testid="template-changed"' in html and "Theirs" in html
    assert "Mine</textarea>" in html and template(aws, "Outage")["message"] == "Theirs"
    assert edit(admin, html, message="Mine").status_code == 303
    assert template(aws, "Outage")["message"] == "Mine"


def test_an_edit_of_a_template_deleted_meanwhile_offers_to_save_it_anew(admin, aws):
    save_template(admin)
    page = edit_page(admin).get_data(as_text=True)
    admin.post("/notifications/message-templates/delete", data={"csrf_token": csrf(admin), "name": "Outage"})
    gone = edit(admin, page, message="Still wanted")
    html = gone.get_data(as_text=True)
    assert gone.status_code == 409 and 'data-testid="template-deleted"' in html and "Still wanted</textarea>" in html
    assert template(aws, "Outage") is None
    assert edit_page(admin).status_code == 404
    assert admin.get("/notifications/message-templates/edit").location.endswith("/notifications/message-templates")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("Hello", "5 characters · 1 text message"),
        ("x" * 161, "161 characters · 2 text messages of up to 153 (GSM-7)"),
        ("Café ☕" + "x" * 65, "71 characters · 2 text messages of up to 67 (UCS-2)"),
    ],
)
def test_the_server_says_how_many_text_messages_an_sms_takes(admin, text, said):
    page = admin.get("/notifications").get_data(as_text=True)
    form = {"csrf_token": csrf(admin), "send_id": hidden(page, "send_id"), "phone": "12345", "sms_message": text}
    refused = admin.post("/notifications/sms", data=form)  # shown again with its error, and its length
    assert refused.status_code == 422 and f'data-testid="sms-length">{said}<' in refused.get_data(as_text=True)
    answer = admin.post("/notifications/sms", data=form | {"phone": "+447700900123"})
    assert answer.status_code == 303
    assert said in admin.get(answer.location).get_data(as_text=True)
    preview = compose(admin, message=text).get_data(as_text=True)
    assert f'data-testid="preview-sms-length">{said}<' in preview
