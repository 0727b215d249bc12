"""A valid record form and making records through the pages, for every suite that needs a record to act on."""

from __future__ import annotations

from typing import Any

from tests.support.forms import hidden

GOOD = {
    "title": "Quarterly invoice",
    "status": "open",
    "amount": "1250.40",
    "due": "2027-01-31",
    "notes": "Check totals",
    "tags": "finance, Q1",
}


def new_form(client: Any) -> dict[str, str]:
    """The create form's own fields: its CSRF token and its signed submission id."""
    page = client.get("/records/new").get_data(as_text=True)
    return {"csrf_token": hidden(page, "csrf_token"), "submission_id": hidden(page, "submission_id")}


def edit_form(client: Any, record_id: str) -> dict[str, str]:
    """The edit form's own fields: its CSRF token and the version it was opened at."""
    return _versioned_form(client, f"/records/{record_id}/edit")


def delete_form(client: Any, record_id: str) -> dict[str, str]:
    """The delete confirmation's own fields: its CSRF token and the version it was opened at."""
    return _versioned_form(client, f"/records/{record_id}/delete")


def _versioned_form(client: Any, path: str) -> dict[str, str]:
    page = client.get(path).get_data(as_text=True)
    return {"csrf_token": hidden(page, "csrf_token"), "version": hidden(page, "version")}


def create(client: Any, values: dict[str, str] = GOOD, **changes: str) -> str:
    """A record made through the create form from ``values`` with ``changes``; returns its id."""
    response = client.post("/records/new", data=new_form(client) | values | changes)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.location.rsplit("/", 1)[1]


def counted(aws: Any, owner: str | None = None) -> dict[str, int]:
    """The dashboard's counters (one owner's, or everyone's) once the records stream has drained: the events
    function has counted every change, as it does on AWS within seconds."""
    from webapp.records.stats import StatsStore

    aws.events.drain()
    return StatsStore(aws["session"].client("dynamodb"), aws.get("STATS_TABLE", "webapp-stats")).counts(owner)
