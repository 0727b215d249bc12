"""The dashboard: an empty state that invites to make a record (no chart of zeros), records by status, the trend of
records created and completed per week as an accessible inline SVG with its table, and the admin's figures
(users, pending invitations, notifications sent this month)."""

import datetime as dt
import html
import re

from tests.functional.test_notifications import compose, send_from
from tests.support.forms import csrf
from tests.support.records import create, edit_form
from webapp.main.charts import nice_top, trend
from webapp.records.stats import week_of


def dashboard(client, aws):
    aws.events.drain()  # the events function has counted every change, as it does on AWS within seconds
    answer = client.get("/")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_a_user_without_records_is_invited_to_make_one_and_sees_no_chart(user, aws):
    page = dashboard(user, aws)
    assert 'data-testid="empty-state"' in page and "You have no records yet" in page
    assert re.search(r'<a class="btn btn-primary btn-lg" href="/records/new">Create your first record</a>', page)
    assert '<svg class="status-chart"' not in page and 'data-testid="trend-chart"' not in page
    assert 'data-testid="activity"' not in page and 'data-testid="admin-figures"' not in page


def test_a_record_saved_a_moment_ago_is_no_empty_state_while_the_counters_catch_up(user, aws):
    create(user, title="Just made")
    page = user.get("/").get_data(as_text=True)  # the stream not drained: nothing counted yet
    assert 'data-testid="empty-state"' not in page and 'data-testid="counts-empty"' in page
    assert "Just made" in page[page.index('data-testid="activity"') :]
    assert '<svg class="status-chart"' not in page  # no bars of zero


def test_the_trend_is_an_accessible_svg_of_this_weeks_records_with_a_table(user, aws):
    done = create(user, status="open", title="Finish me")
    create(user, status="done", title="Done at once")
    user.post(f"/records/{done}/edit", data=edit_form(user, done) | {"title": "Finish me", "status": "done"})
    page = dashboard(user, aws)
    assert 'data-testid="empty-state"' not in page
    chart = page[page.index('<svg class="trend-chart"') : page.index("</svg>", page.index('<svg class="trend-chart"'))]
    assert 'role="img" aria-labelledby="trend-title" aria-describedby="trend-desc"' in chart
    assert '<title id="trend-title">Records created and completed per week, the last 8 weeks</title>' in chart
    assert "2 created and 2 completed" in html.unescape(chart)
    assert chart.count('data-kind="created"') == chart.count('data-kind="completed"') == 8
    assert "<title>Created: 2</title>" in chart and "<title>Completed: 2</title>" in chart
    table = page[page.index('data-testid="trend-table"') :]
    this_week = week_of(dt.datetime.now(dt.UTC).isoformat())
    assert re.search(rf'<time datetime="{this_week}">[^<]+</time></th><td>2</td><td>2</td>', table)
    assert table.count("<tr>") == 1 + 8
    assert "style=" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page)  # CSP: nothing inline


def test_the_dashboard_reads_its_counters_and_weeks_in_one_batch_get(app, user, aws):
    create(user)
    aws.events.drain()
    from webapp import aws as app_aws

    with app.app_context():
        client = app_aws.client("dynamodb")
    reads = []
    stats = app.config["STATS_TABLE"]

    def record(params, **_):
        reads.append(sorted(key["pk"]["S"] for key in params["RequestItems"].get(stats, {}).get("Keys", [])))

    client.meta.events.register("provide-client-params.dynamodb.BatchGetItem", record)
    user.get("/")
    client.meta.events.unregister("provide-client-params.dynamodb.BatchGetItem", record)
    [keys] = [keys for keys in reads if keys]
    assert len(keys) == 1 + 8 and all(key.startswith("owner#") for key in keys)


def test_records_but_nothing_in_eight_weeks_say_so_instead_of_a_chart_of_zeros():
    quiet = trend([(f"2026-W{n}", 0, 0) for n in range(41, 49)])
    assert quiet.empty and all(bar.height == 0 for bar in quiet.bars)
    busy = trend([("2026-W47", 0, 3), ("2026-W48", 12, 7)])
    assert not busy.empty and max(bar.height for bar in busy.bars) == round(148 * 12 / 20, 1)  # 12 on a scale of 20
    assert [tick for _, tick in busy.ticks] == [0, 10, 20] and busy.weeks[1].label == "23 Nov"
    assert [nice_top(n) for n in (0, 1, 2, 3, 7, 10, 11, 60, 101)] == [1, 1, 2, 5, 10, 10, 20, 100, 200]


def test_an_admin_sees_users_pending_invitations_and_notifications_sent_this_month(app, admin, aws):
    first = dashboard(admin, aws)
    assert "Nobody has a record yet" in first and 'data-testid="figure-pending">0<' in first
    admin.post("/admin/users/invite", data={"csrf_token": csrf(admin), "email": "invited@example.com"})
    send_from(admin, compose(admin).get_data(as_text=True))
    app.extensions.pop("admin_figures")  # Cognito's figures are read at most once a minute: as a minute later
    page = dashboard(admin, aws)
    figures = page[page.index('data-testid="admin-figures"') :]
    assert 'data-testid="figure-users">3<' in figures  # the two seed accounts and the invitation
    assert 'data-testid="figure-pending">1<' in figures
    assert 'data-testid="figure-sent">1<' in figures
    activity = page[page.index('data-testid="activity"') :]  # everyone's log: admin actions read as sentences
    assert "You invited invited@example.com" in activity and "deleted</span>" not in activity


def test_the_admin_figures_ask_cognito_at_most_once_a_minute_and_survive_its_failure(app, admin, aws, monkeypatch):
    from botocore.exceptions import ClientError

    from webapp import aws as app_aws

    with app.app_context():
        client = app_aws.client("cognito-idp")
    original, calls = client._make_api_call, []

    def failing(operation, params):
        calls.append(operation)
        raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow"}}, operation)

    monkeypatch.setattr(client, "_make_api_call", failing)
    page = admin.get("/")
    assert page.status_code == 200 and 'data-testid="figure-users">—<' in page.get_data(as_text=True)
    assert "not available right now" in page.get_data(as_text=True)
    monkeypatch.setattr(
        client, "_make_api_call", lambda operation, params: calls.append(operation) or original(operation, params)
    )
    calls.clear()
    for _ in range(3):
        assert 'data-testid="figure-users">2<' in admin.get("/").get_data(as_text=True)
    assert calls.count("DescribeUserPool") == 1 and calls.count("ListUsers") == 1  # cached after the first
