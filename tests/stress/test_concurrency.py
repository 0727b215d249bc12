"""Twenty people edit the same record at once, ten times each, over real HTTP against the local stack.

Each edit is what a browser does: open the edit form (its version and CSRF token), then post a change.
Optimistic locking must let exactly one save per version through and send everyone else to the conflict page
with the values saved now; nothing may be lost, written twice or half-written.
"""

from __future__ import annotations

import collections
import html
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tests.stress.conftest import Visitor
from tests.support.forms import ADMIN, ADMIN_PASSWORD, USER, USER_PASSWORD, hidden

CLIENTS = 20
ADMINS = 5  # of the CLIENTS: an admin's edit of the user's record also runs the notification path
EDITS_EACH = 10
STATUSES = ("open", "in_progress", "done")
# A 503 "busy" page is the app's honest answer when DynamoDB does not answer in time; on loopback with nothing
# throttling it must not happen at all: the issue asks for no 5xx, so none is let through.
MAX_BUSY_SHARE = 0


@dataclass
class Outcome:
    """One edit attempt: what the form said, what was sent, and how the app answered."""

    client: int
    title: str
    status: str
    form_version: int
    kind: str  # accepted, conflict, busy, or unexpected
    code: int
    shown_version: int | None = None  # on the conflict page: the version saved now
    shown_title: str | None = None  # ... and its title
    mine_title: str | None = None  # ... and the title this client typed
    detail: str = ""


def create_record(visitor: Visitor) -> str:
    page = visitor.get("/records/new").text
    form = {
        "csrf_token": hidden(page, "csrf_token"),
        "submission_id": hidden(page, "submission_id"),
        "title": "Contended record",
        "status": "open",
        "amount": "10.00",
        "due": "2027-06-30",
        "notes": "Everyone edits me at once.",
        "tags": "stress",
    }
    created = visitor.post("/records/new", data=form)
    assert created.status_code == 302, created.text[:2000]
    return created.headers["Location"].rsplit("/", 1)[1]


def edit_once(visitor: Visitor, record_id: str, client: int, n: int) -> Outcome:
    """Open the edit form, then post a change only this client and this attempt make (so no edit is a no-op)."""
    title, status = f"Client {client:02d} edit {n:02d}", STATUSES[(client + n) % len(STATUSES)]
    form_page = visitor.get(f"/records/{record_id}/edit")
    if form_page.status_code != 200:
        kind = "busy" if form_page.status_code == 503 else "unexpected"
        return Outcome(client, title, status, -1, kind, form_page.status_code, detail=form_page.text[:500])
    version = int(hidden(form_page.text, "version"))
    data = {
        "csrf_token": hidden(form_page.text, "csrf_token"),
        "version": str(version),
        "title": title,
        "status": status,
        "amount": f"{client}.{n:02d}",
        "due": f"2027-{1 + n:02d}-{1 + client:02d}",
        "notes": f"Saved by client {client} on attempt {n}.",
        "tags": f"stress, client-{client}",
    }
    answer = visitor.post(f"/records/{record_id}/edit", data=data)
    outcome = Outcome(client, title, status, version, "unexpected", answer.status_code)
    if answer.status_code == 302 and answer.headers["Location"].endswith(f"/records/{record_id}"):
        outcome.kind = "accepted"
    elif answer.status_code == 409 and "This record changed since you opened it" in answer.text:
        outcome.kind = "conflict"
        page = answer.text
        now = re.search(r"now version (\d+)\)", page)
        theirs = re.search(r'data-testid="theirs-title">([^<]*)<', page)
        mine = re.search(r'data-testid="mine-title">([^<]*)<', page)
        outcome.shown_version = int(now.group(1)) if now else None
        outcome.shown_title = html.unescape(theirs.group(1)) if theirs else None
        outcome.mine_title = html.unescape(mine.group(1)) if mine else None
        if hidden(page, "version") != str(outcome.shown_version):  # "Save mine on top" must build on it
            outcome.kind, outcome.detail = "unexpected", "the conflict form's version is not the one shown"
    elif answer.status_code == 503 and "nothing was saved" in answer.text:
        outcome.kind = "busy"
    else:
        outcome.detail = answer.text[:500]
    return outcome


def editor(visitor: Visitor, record_id: str, client: int, start: threading.Barrier) -> list[Outcome]:
    start.wait()
    return [edit_once(visitor, record_id, client, n) for n in range(EDITS_EACH)]


def live_records(stack) -> list[dict]:
    """Every live record item in the emulated table (not tombstones, not the counters)."""
    dynamodb, items, start = stack.client("dynamodb"), [], None
    while True:
        page = dynamodb.scan(TableName="webapp-records", **({"ExclusiveStartKey": start} if start else {}))
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return [item for item in items if "owner" in item]


def counters(stack, owner: str | None) -> dict[str, int]:
    """The counters the events function keeps (one owner's, or everyone's summed over the shards)."""
    from webapp.records.stats import StatsStore

    return StatsStore(stack.client("dynamodb"), "webapp-stats").counts(owner)


def drained(stack, expected: dict, owner: str | None, seconds: float = 20.0) -> dict[str, int]:
    """The counters once the local stack's stream poller has caught up (they follow the stream within seconds
    on AWS too): polled until they equal ``expected`` or the time is up, then returned as they are."""
    deadline = time.monotonic() + seconds
    while (found := counters(stack, owner)) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def dashboard_counts(visitor: Visitor) -> dict[str, int]:
    page = visitor.get("/").text
    return {status: int(re.search(rf'data-testid="count-{status}">(\d+)<', page).group(1)) for status in STATUSES}


def history(stack, record_id: str) -> list[dict]:
    dynamodb, items, start = stack.client("dynamodb"), [], None
    while True:
        page = dynamodb.query(
            TableName="webapp-audit",
            KeyConditionExpression="subject = :s",
            ExpressionAttributeValues={":s": {"S": f"record#{record_id}"}},
            **({"ExclusiveStartKey": start} if start else {}),
        )
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def test_twenty_people_editing_one_record_lose_nothing_and_losers_see_the_conflict_page(stack):
    visitors = [Visitor(stack) for _ in range(CLIENTS)]
    accounts = [(ADMIN, ADMIN_PASSWORD) if n < ADMINS else (USER, USER_PASSWORD) for n in range(CLIENTS)]
    with ThreadPoolExecutor(CLIENTS) as pool:  # everyone signs in at once too
        list(pool.map(lambda pair: pair[0].sign_in(*pair[1]), zip(visitors, accounts, strict=True)))
    owner = visitors[-1]  # a seed user's session: the record is theirs, the admins edit someone else's
    record_id = create_record(owner)

    start = threading.Barrier(CLIENTS, timeout=60)  # all edit at once; a client that never comes fails it
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(editor, visitor, record_id, n, start) for n, visitor in enumerate(visitors)]
        outcomes = [outcome for future in futures for outcome in future.result()]

    kinds = collections.Counter(outcome.kind for outcome in outcomes)
    accepted = [o for o in outcomes if o.kind == "accepted"]
    conflicts = [o for o in outcomes if o.kind == "conflict"]
    print(
        f"\n{CLIENTS} clients x {EDITS_EACH} edits of one record: {kinds['accepted']} accepted, "
        f"{kinds['conflict']} conflicts (409), {kinds['busy']} busy (503), {kinds['unexpected']} unexpected"
    )
    unexpected = [o for o in outcomes if o.kind == "unexpected"]
    assert not unexpected, unexpected[:5]
    assert all(o.code < 500 or o.kind == "busy" for o in outcomes), "a 5xx other than the busy page"
    assert kinds["busy"] <= MAX_BUSY_SHARE * len(outcomes), f"{kinds['busy']} busy pages of {len(outcomes)}"
    assert accepted and conflicts, "20 people at once should both save and collide"

    # The record: one version per accepted edit, and the last accepted edit's values
    record = owner.get(f"/records/{record_id}")
    assert record.status_code == 200
    item = next(i for i in live_records(stack) if i["record_id"]["S"] == record_id)
    final_version = int(item["version"]["N"])
    assert final_version == 1 + len(accepted), sorted((o.form_version, o.title) for o in accepted)
    assert int(item["history_count"]["N"]) == 1 + len(accepted)

    # The history: exactly the accepted edits, each on top of the version its form was opened at
    entries = history(stack, record_id)
    updates = [e for e in entries if e["action"]["S"] == "update"]
    assert [e["action"]["S"] for e in entries].count("create") == 1
    assert len(updates) == len(entries) - 1 == len(accepted)
    saved = {e["title"]["S"]: int(e["version"]["N"]) for e in updates}
    assert sorted(saved.values()) == list(range(2, final_version + 1)), "a version saved twice, or skipped"
    assert set(saved) == {o.title for o in accepted}, "the history and the accepted edits differ"
    assert all(saved[o.title] == o.form_version + 1 for o in accepted), "an edit saved over a newer version"
    last = max(updates, key=lambda e: int(e["version"]["N"]))["title"]["S"]
    winner = next(o for o in accepted if o.title == last)
    assert (item["title"]["S"], item["status"]["S"]) == (winner.title, winner.status)
    assert winner.title in record.text

    # The losers saw what was saved then, next to what they typed
    title_at = {1: "Contended record"} | {version: title for title, version in saved.items()}
    for conflict in conflicts:
        assert conflict.mine_title == conflict.title
        assert conflict.shown_version is not None and conflict.shown_version > conflict.form_version
        assert conflict.shown_title == title_at[conflict.shown_version], conflict

    # The counters: once the stream has drained, per owner and for everyone, they match the records as they are,
    # and the dashboards say so
    records, owner_sub = live_records(stack), item["owner"]["S"]
    theirs = {s: sum(1 for r in records if r["owner"]["S"] == owner_sub and r["status"]["S"] == s) for s in STATUSES}
    everyone = {s: sum(1 for r in records if r["status"]["S"] == s) for s in STATUSES}
    assert drained(stack, theirs, owner_sub) == dashboard_counts(owner) == theirs
    assert drained(stack, everyone, None) == dashboard_counts(visitors[0]) == everyone

    assert not stack.errors_logged(), stack.errors_logged()[:10]
    for visitor in visitors:
        visitor.close()
