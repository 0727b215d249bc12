"""What every page shares (issue 19): times as <time> in UTC, actions that ask first with a page that works without
JavaScript, the error summary after a failed submit, and the service status page for people."""

from __future__ import annotations

import re

import pytest

from localaws import outbox
from tests.support.forms import ADMIN, USER, csrf, hidden
from tests.support.records import create, new_form

TIME = re.compile(
    r'<time datetime="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)" data-when>(\d{4}-\d\d-\d\d \d\d:\d\d) UTC</time>'
)


@pytest.fixture
def cognito(aws):
    return aws["session"].client("cognito-idp")


def username_of(cognito, aws, email: str) -> str:
    return cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=email)["Username"]


def summary_links(page: str) -> list[tuple[str, str]]:
    """The error summary's links, as (field id, message)."""
    found = re.search(r'<div class="alert alert-danger error-summary" role="alert" tabindex="-1".*?</div>', page, re.S)
    assert found, "no error summary on the page"
    return re.findall(r'<a class="alert-link" href="#([\w-]+)">([^<]*)</a>', found.group(0))


# Times


@pytest.mark.parametrize("path", ["/account", "/admin/users", "/admin/audit", "/records"])
def test_every_time_is_a_time_element_in_utc_with_the_one_format(admin, path):
    create(admin, title="A record with times")
    page = admin.get(path).get_data(as_text=True)
    times = TIME.findall(page)
    assert times, f"no time on {path}"
    for machine, person in times:
        assert machine[:16].replace("T", " ") == person  # the text is the same moment, readable without JavaScript
    assert len(times) == page.count("<time"), "a <time> in another format"


# Asking first


@pytest.mark.parametrize(
    ("action", "question", "button"),
    [
        ("disable", "Disable user@example.com?", "Disable account"),
        ("promote", "Make user@example.com an admin?", "Make admin"),
        ("sign-out", "Sign user@example.com out everywhere?", "Sign out everywhere"),
        ("reset-password", "Reset the password of user@example.com?", "Reset password"),
        ("delete", "Delete user@example.com?", "Delete account"),
    ],
)
def test_without_javascript_each_privileged_action_asks_on_a_page_that_does_it(
    admin, cognito, aws, action, question, button
):
    username = username_of(cognito, aws, USER)
    user_page = admin.get(f"/admin/users/{username}").get_data(as_text=True)
    # the button is a GET to the confirmation page; the POST that acts is only in the (closed) dialog
    assert (
        f'<form method="get" action="/admin/users/{username}/{action}" class="m-0" data-confirm="confirm-{action}">'
        in user_page
    )
    page = admin.get(f"/admin/users/{username}/{action}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'<h1 class="h3">{question}</h1>' in html
    assert f'<form method="post" action="/admin/users/{username}/{action}"' in html and f">{button}</button>" in html
    assert cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER)[
        "Enabled"
    ]  # asking did nothing


def test_the_confirmation_page_posts_the_action(admin, cognito, aws):
    username = username_of(cognito, aws, USER)
    page = admin.get(f"/admin/users/{username}/disable").get_data(as_text=True)
    answer = admin.post(f"/admin/users/{username}/disable", data={"csrf_token": hidden(page, "csrf_token")})
    assert answer.status_code == 302
    assert not cognito.admin_get_user(UserPoolId=aws["COGNITO_USER_POOL_ID"], Username=USER)["Enabled"]


@pytest.mark.parametrize("action", ["disable", "demote", "delete"])
def test_what_the_server_would_refuse_is_neither_offered_nor_asked(admin, cognito, aws, action):
    username = username_of(cognito, aws, ADMIN)
    assert f"/admin/users/{username}/{action}" not in admin.get(f"/admin/users/{username}").get_data(as_text=True)
    answer = admin.get(f"/admin/users/{username}/{action}").get_data(as_text=True)
    assert "You cannot do that to your own account" in answer and 'method="post"' not in answer.split("<main")[1]


def test_an_action_that_does_not_apply_now_is_explained_not_asked(admin, cognito, aws):
    answer = admin.get(f"/admin/users/{username_of(cognito, aws, USER)}/enable").get_data(as_text=True)
    assert "“Enable” does not apply to this account as it is now." in answer


def test_an_unknown_action_has_no_confirmation_page(admin, cognito, aws):
    assert admin.get(f"/admin/users/{username_of(cognito, aws, USER)}/explode").status_code == 404


def test_sign_out_everywhere_asks_first_and_without_javascript_on_its_own_page(user):
    account = user.get("/account").get_data(as_text=True)
    assert (
        '<form method="get" action="/account/sign-out-everywhere" class="m-0" data-confirm="confirm-sign-out">'
        in account
    )
    page = user.get("/account/sign-out-everywhere").get_data(as_text=True)
    assert '<h1 class="h3">Sign out everywhere?</h1>' in page
    assert '<form method="post" action="/account/sign-out-everywhere"' in page
    assert user.get("/account").status_code == 200  # still signed in: asking did nothing


# The error summary


def test_a_failed_record_form_starts_with_a_summary_linking_each_problem_to_its_field(user):
    answer = user.post("/records/new", data=new_form(user) | {"title": "", "status": "open", "amount": "12.3456"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert summary_links(html) == [("title", "Title is required."), ("amount", "Use at most 2 decimal places.")]
    for field_id, _ in summary_links(html):
        assert f'id="{field_id}"' in html
    assert html.index("error-summary") < html.index('<form method="post" novalidate')  # at the top, before the form


@pytest.mark.parametrize(
    ("path", "data", "expected"),
    [
        ("/admin/users/invite", {"email": "not an email"}, [("email", "Enter a valid email address.")]),
        ("/admin/api-clients/new", {"name": "no spaces allowed"}, None),
    ],
)
def test_admin_forms_start_with_the_summary_too(admin, path, data, expected):
    answer = admin.post(path, data=data | {"csrf_token": csrf(admin)})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    links = summary_links(html)
    assert links == expected if expected else links and all(f'id="{field_id}"' in html for field_id, _ in links)


def test_the_account_page_summary_links_to_the_field_that_failed(user):
    answer = user.post("/account/subscriptions", data={"csrf_token": csrf(user), "protocol": "sms", "endpoint": "12"})
    assert summary_links(answer.get_data(as_text=True)) == [
        ("subscribe-phone", "Enter the number in international E.164 form, like +447700900123.")
    ]


def test_a_page_without_errors_has_no_summary(user):
    assert "error-summary" not in user.get("/records/new").get_data(as_text=True)


# The service status page


def test_the_status_page_says_in_words_what_healthz_knows_to_anyone(client):
    page = client.get("/status")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Dashboard is up" in html and "It is answering requests, as of <time" in html
    assert 'href="/healthz"' in html
    assert client.get("/healthz").get_json() == {"status": "ok"}  # machines keep their JSON


def test_the_footer_links_to_the_status_page(client):
    assert '<a class="link-body-emphasis" href="/status">Service status</a>' in client.get("/").get_data(as_text=True)


def test_deleting_a_message_template_asks_first_and_without_javascript_on_its_own_page(admin):
    form = {"csrf_token": csrf(admin), "name": "Outage", "subject": "Down", "message": "We are down."}
    admin.post("/notifications/message-templates", data=form)
    listing = admin.get("/notifications/message-templates").get_data(as_text=True)
    assert 'action="/notifications/message-templates/delete" class="m-0" data-confirm="confirm-delete-1">' in listing
    page = admin.get("/notifications/message-templates/delete?name=Outage").get_data(as_text=True)
    assert '<h1 class="h3">Delete the template “Outage”?</h1>' in page
    assert "Outage" in admin.get("/notifications").get_data(as_text=True)  # asking deleted nothing
    admin.post(
        "/notifications/message-templates/delete", data={"csrf_token": hidden(page, "csrf_token"), "name": "Outage"}
    )
    gone = admin.get("/notifications/message-templates/delete?name=Outage")
    assert gone.location == "/notifications/message-templates"  # gone already: back to the list


def test_a_text_message_is_previewed_before_it_is_sent(admin):
    compose = admin.get("/notifications").get_data(as_text=True)
    form = {"csrf_token": csrf(admin), "send_id": hidden(compose, "send_id"), "phone": "+447700900123"}
    answer = admin.post("/notifications/sms/preview", data=form | {"sms_message": "Back at 5"})
    assert answer.status_code == 303 and answer.location == "/notifications/sms/preview"
    preview = admin.get("/notifications/sms/preview").get_data(as_text=True)
    assert "+447700900123" in preview and "Back at 5" in preview and "9 characters · 1 text message" in preview
    assert outbox.sms_messages() == []  # nothing sent yet
    assert 'value="+447700900123"' in admin.get("/notifications").get_data(as_text=True)  # Edit keeps it
    sent = admin.post(
        "/notifications/sms",
        data={
            "csrf_token": csrf(admin),
            "send_id": hidden(preview, "send_id"),
            "phone": "+447700900123",
            "sms_message": "Back at 5",
        },
    )
    assert sent.status_code == 303 and len(outbox.sms_messages()) == 1
    assert admin.get("/notifications/sms/preview").location == "/notifications"  # sent: nothing waits


def test_a_text_message_with_a_mistake_goes_back_to_the_form_with_the_summary(admin):
    compose = admin.get("/notifications").get_data(as_text=True)
    form = {"csrf_token": csrf(admin), "send_id": hidden(compose, "send_id"), "phone": "12", "sms_message": "Hi"}
    answer = admin.post("/notifications/sms/preview", data=form)
    assert answer.status_code == 422
    assert summary_links(answer.get_data(as_text=True)) == [
        ("phone", "Enter the number in international E.164 form, like +447700900123.")
    ]
