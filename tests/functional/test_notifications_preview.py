"""What the preview promises, and that it is the truth: the in-app inbox of the audience receives every message
(the topic's ``inbox`` function), whether or not an email or SMS subscription matches."""

import re

import pytest

from localaws.deliveries import Deliverer
from tests.functional.test_notifications import compose, send_from
from tests.support.forms import USER, subscribe
from tests.support.inbox import fresh_worker
from webapp import inbox_handler


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
