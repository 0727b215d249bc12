"""The layout, the landing page, the health check and the error pages."""

import logging

import pytest
from flask import abort

from webapp.auth.guards import public


def test_the_landing_page_is_open_to_everyone_and_uses_the_shipped_stylesheet(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/static/vendor/bootstrap/bootstrap.min.css" in html
    assert '<html lang="en">' in html
    assert "Dashboard" in html


def test_the_shipped_stylesheet_and_favicon_are_served(client):
    with client.get("/static/vendor/bootstrap/bootstrap.min.css") as stylesheet:
        assert stylesheet.status_code == 200
        assert stylesheet.mimetype == "text/css"
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200
        assert icon.mimetype == "image/vnd.microsoft.icon"
        assert icon.data.startswith(b"\x00\x00\x01\x00")  # the ICO signature


def test_healthz_answers_json_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_an_unknown_page_gets_the_404_page_in_the_layout(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html
    assert 'class="navbar' in html


@pytest.mark.parametrize(("code", "title"), [(400, "Bad request"), (403, "Forbidden"), (503, "Service unavailable")])
def test_http_errors_render_in_the_layout(app, code, title):
    app.add_url_rule(f"/fails-{code}", f"fails_{code}", public(lambda: abort(code)))
    response = app.test_client().get(f"/fails-{code}")
    assert response.status_code == code
    assert title in response.get_data(as_text=True)


def test_an_unexpected_exception_is_a_500_page_without_a_traceback_and_is_logged(app, caplog):
    def explode():
        raise RuntimeError("secret internals")

    app.add_url_rule("/explode", "explode", public(explode))
    app.config["PROPAGATE_EXCEPTIONS"] = False  # TESTING turns propagation on; production has it off
    with caplog.at_level(logging.ERROR, logger="webapp.errors"):
        response = app.test_client().get("/explode")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong" in html
    assert "secret internals" not in html and "Traceback" not in html
    assert "secret internals" in caplog.text


def test_a_wrong_method_is_a_405_page_that_says_what_is_allowed(client):
    response = client.delete("/healthz")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_a_body_over_the_limit_is_a_413_page(app):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    app.add_url_rule("/upload", "upload", public(lambda: "ok"), methods=["POST"])
    response = app.test_client().post("/upload", data={"field": "x" * 5000})
    assert response.status_code == 413
    assert "Request too large" in response.get_data(as_text=True)


def test_a_post_without_a_csrf_token_is_refused(app):
    app.add_url_rule("/change", "change", public(lambda: "changed"), methods=["POST"])
    response = app.test_client().post("/change", data={"field": "value"})
    assert response.status_code == 400
    assert "changed" not in response.get_data(as_text=True)


def test_a_form_sent_after_the_session_ended_says_so_and_offers_to_sign_in(user, app):
    from tests.support.forms import csrf

    token = csrf(user)
    with app.app_context():
        from webapp import aws

        table = app.config["SESSIONS_TABLE"]
        dynamodb = aws.client("dynamodb")
        for item in dynamodb.scan(TableName=table)["Items"]:  # the session ends while the form is open
            dynamodb.delete_item(TableName=table, Key={"sid": item["sid"]})
    response = user.post("/account/record-events", data={"csrf_token": token, "record_events": "y"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Your session ended before this form was sent, so nothing was saved" in html
    assert 'href="/auth/login">Sign in</a>' in html


def test_a_stale_form_of_a_signed_in_visitor_says_to_reload_it(user):
    response = user.post("/account/record-events", data={"csrf_token": "a-token-from-long-ago"})
    assert response.status_code == 400
    assert "This form had expired, so nothing was saved" in response.get_data(as_text=True)


def test_every_response_carries_the_security_headers(client):
    headers = client.get("/").headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in headers


def test_hsts_is_sent_when_served_over_https(client):
    headers = client.get("/", base_url="https://dashboard.example").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=")
