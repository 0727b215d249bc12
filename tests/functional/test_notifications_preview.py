"""What the previews promise, and that it is the truth: the in-app inbox of the audience receives every message
(the topic's ``inbox`` function), whether or not an email or SMS subscription matches; and a text is trimmed of
the same characters the browser's live count leaves out (a pasted byte-order mark above all)."""

import re

import pytest

from localaws.deliveries import Deliverer
from tests.functional.test_notifications import compose, send_from
from tests.support.forms import USER, csrf, hidden, subscribe
from tests.support.inbox import fresh_worker
from webapp import inbox_handler
from webapp.notifications.segments import segments


def shown(html, testid):
    found = re.search(rf'data-testid="{testid}">(.*?)</dd>', html, re.S)
    return found.group(1) if found else None


@pytest.mark.parametrize(
    ("fields", "inbox"),
    [
        ({"audience": "all"}, "Every user gets it"),
        ({"audience": "admins"}, "Every admin gets it"),
        ({"audience": "user", "user_email": USER}, f"{USER} gets it"),
    ],
)
def test_with_no_email_or_sms_subscription_the_preview_says_the_inbox_still_gets_it(admin, fields, inbox):
    html = compose(admin, **fields).get_data(as_text=True)
    assert shown(html, "preview-inbox") == inbox
    assert shown(html, "preview-count") == "0"
    assert "nobody will receive it" not in html
    assert "No email or text subscription matches this audience: only the in-app inbox gets it." in html


def test_the_inbox_the_preview_names_is_the_one_that_receives_it(admin, user, aws, monkeypatch):
    user.get("/inbox")  # the user's inbox takes everyone's messages from their first page on
    html = compose(admin, subject="Everyone gets this").get_data(as_text=True)
    assert shown(html, "preview-inbox") == "Every user gets it" and shown(html, "preview-count") == "0"
    send_from(admin, html)
    fresh_worker(monkeypatch)
    Deliverer(aws["session"], handlers={"inbox": inbox_handler.handler}).drain()  # the topic's inbox function
    assert "Everyone gets this" in user.get("/inbox").get_data(as_text=True)


def test_the_preview_counts_email_and_sms_subscriptions_apart_from_the_inbox(admin, user):
    subscribe(user, "email", "user@example.com")
    html = compose(admin, audience="user", user_email=USER).get_data(as_text=True)
    assert shown(html, "preview-inbox") == f"{USER} gets it" and shown(html, "preview-count") == "1"
    assert "Email and text subscriptions" in html and "only the in-app inbox" not in html


BOM = "\ufeff"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (BOM + "hi", "hi"),
        ("hi" + BOM, "hi"),
        (f" {BOM}\u00a0{BOM}\r\nhi there\u3000{BOM}\n", "hi there"),
        ("\x1fhi\x85", "hi"),  # str.isspace() says these are white space: the script strips them too
        ("h" + BOM + "i", "h" + BOM + "i"),  # only what surrounds the text
        (BOM * 3, ""),
    ],
)
def test_trimmed_strips_white_space_and_byte_order_marks_around_a_text(typed, kept):
    from webapp.forms import trimmed

    assert trimmed(typed) == kept


def test_a_pasted_byte_order_mark_is_not_part_of_the_text_message(admin):
    page = admin.get("/notifications").get_data(as_text=True)
    form = {"csrf_token": csrf(admin), "send_id": hidden(page, "send_id"), "phone": "+447700900123"}
    answer = admin.post("/notifications/sms/preview", data=form | {"sms_message": BOM + "hi"}, follow_redirects=True)
    html = answer.get_data(as_text=True)
    assert shown(html, "sms-preview-length") == segments("hi").summary == "2 characters · 1 text message"
    assert hidden(html, "sms_message") == "hi"


def test_the_topic_message_and_its_subject_lose_a_pasted_byte_order_mark_too(admin):
    html = compose(admin, subject=BOM + "Maintenance", message=BOM + "Tonight at 10." + BOM).get_data(as_text=True)
    assert shown(html, "preview-subject") == "Maintenance"
    assert shown(html, "preview-message") == "Tonight at 10."
