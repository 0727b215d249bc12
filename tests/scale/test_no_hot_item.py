"""No hot item, measured (README, "No hot item"): a mixed workload of many people through the app in this process
(sign-ins through the hosted login, creates, edits, some changing the status, deletes, an admin's restores and
edits, the admin pages), with the `events` and `inbox` functions draining what it set off between rounds.
Every item written to DynamoDB is recorded from the tables' own streams (tests/scale/writes.py), the functions'
writes included, and no partition that is not one person's own may take more than 1/N of them (N =
webapp.shards.SHARDS): a partition every user writes is capped by DynamoDB's per-partition limit. The same
writes show the old design failing that measure.

The items written are measured too (records, audit entries, counters, sessions), with what a save costs in
write units: README's capacity table and cost paragraph state these figures. ``pytest -s`` prints them.
"""

from __future__ import annotations

import random
import re
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.scale import writes as ddb
from tests.support import stack
from tests.support.forms import ADMIN, ADMIN_PASSWORD, hidden, signed_in
from tests.support.records import delete_form, edit_form, new_form
from webapp.shards import SHARDS

PEOPLE = 15  # besides the seed admin
ROUNDS = 2
BUSY = 3  # people who also edit one record over and over, so that it carries a full recent history
PASSWORD = "Scale-Passw0rd"
STATUSES = ("open", "in_progress", "done")
WORDS = [
    "invoice",
    "lease",
    "budget",
    "supplier",
    "offsite",
    "contract",
    "renewal",
    "audit",
    "payroll",
    "travel",
    "licence",
    "review",
]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
WRITE_UNIT_PRICE = 0.625  # dollars per million on-demand write units, us-east-1 (README's price list)
pytestmark = pytest.mark.timeout(300)  # the workload runs in the first test's setup: ~20-40 s, more on a busy machine


@dataclass
class Person:
    email: str
    sub: str
    client: Any
    records: dict[str, dict[str, str]] = field(default_factory=dict)  # live records: id -> form values


@dataclass
class Workload:
    """Drives the app as the people and the admin would, keeping beside it what should now be true."""

    app: Any
    account: Any
    calls: ddb.WriteCalls
    rng: random.Random
    people: list[Person] = field(default_factory=list)
    admin: Any = None
    deleted: dict[str, tuple[Person, dict[str, str]]] = field(default_factory=dict)
    saves: Counter[str] = field(default_factory=Counter)

    def run(self) -> None:
        self.sign_in_everyone()
        for number in range(ROUNDS):
            for person in self.people:
                self.create(person)
                self.edit(person.client, person, self.rng.choice(sorted(person.records)), self.rng.random() < 0.5)
                if len(person.records) > 1 and self.rng.random() < 0.4:
                    self.delete(person, self.rng.choice(sorted(person.records)))
            if number == ROUNDS - 1:
                for person in self.people[:BUSY]:
                    for edit in range(4):
                        self.edit(person.client, person, sorted(person.records)[0], status_change=edit % 2 == 0)
            self.administer()
            self.calls.doing = "events"
            self.account.events.drain()

    def sign_in_everyone(self) -> None:
        """New people in the pool (Cognito's admin API), each signed in through the hosted login; the admin too."""
        cognito, pool = self.account["session"].client("cognito-idp"), self.account["COGNITO_USER_POOL_ID"]
        self.calls.doing = "sign-in"
        for n in range(PEOPLE):
            email = f"person{n}@example.com"
            attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
            user = cognito.admin_create_user(
                UserPoolId=pool, Username=email, UserAttributes=attributes, MessageAction="SUPPRESS"
            )["User"]
            cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password=PASSWORD, Permanent=True)
            sub = next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")
            self.people.append(Person(email, sub, signed_in(self.app, email, PASSWORD)))
        self.admin = signed_in(self.app, ADMIN, ADMIN_PASSWORD)

    def values(self) -> dict[str, str]:
        """What a person types: a title, a status, an amount, a date, notes of 0-75 words, up to 3 tags."""
        return {
            "title": f"{self.rng.choice(WORDS).title()} {self.rng.randrange(1000)} for {self.rng.choice(WORDS)}",
            "status": self.rng.choice(STATUSES),
            "amount": f"{self.rng.randrange(100_000)}.{self.rng.randrange(100):02d}",
            "due": f"2027-{self.rng.randrange(1, 13):02d}-{self.rng.randrange(1, 29):02d}",
            "notes": " ".join(self.rng.choices(WORDS, k=self.rng.randrange(0, 75))),
            "tags": ", ".join(self.rng.sample(WORDS, self.rng.randrange(0, 4))),
        }

    def create(self, person: Person) -> None:
        values = self.values()
        self.calls.doing = "save"
        answer = person.client.post("/records/new", data=new_form(person.client) | values)
        self.follow(person.client, answer)
        person.records[answer.location.rsplit("/", 1)[1]] = values
        self.saves["create"] += 1

    def edit(self, client: Any, person: Person, record_id: str, status_change: bool) -> None:
        """An edit of the status, or of the title and notes only (which the counters ignore)."""
        values = dict(person.records[record_id])
        if status_change:
            values["status"] = self.rng.choice([status for status in STATUSES if status != values["status"]])
        else:
            values["title"] = f"{values['title'].split(' (')[0]} ({self.rng.randrange(100)})"
            values["notes"] = f"{values['notes']} {self.rng.choice(WORDS)}".strip()
        self.calls.doing = "save"
        self.follow(client, client.post(f"/records/{record_id}/edit", data=edit_form(client, record_id) | values))
        person.records[record_id] = values
        self.saves["edit, status" if status_change else "edit, not status"] += 1

    def delete(self, person: Person, record_id: str) -> None:
        self.calls.doing = "save"
        self.follow(
            person.client,
            person.client.post(f"/records/{record_id}/delete", data=delete_form(person.client, record_id)),
        )
        self.deleted[record_id] = (person, person.records.pop(record_id))
        self.saves["delete"] += 1

    def administer(self) -> None:
        """The admin's turn: the admin-wide pages, a restore or two, an edit of someone's record (both notify)."""
        self.calls.doing = "admin pages"
        for path in ("/", "/records", "/records?status=open", "/admin/audit", "/admin/users"):
            assert self.admin.get(path).status_code == 200, path
        page = self.admin.get("/records/deleted").get_data(as_text=True)
        for record_id in sorted(self.deleted)[:2]:
            self.calls.doing = "save"
            answer = self.admin.post(f"/records/{record_id}/restore", data={"csrf_token": hidden(page, "csrf_token")})
            self.follow(self.admin, answer)
            person, values = self.deleted.pop(record_id)
            person.records[record_id] = values
            self.saves["restore"] += 1
        person = self.rng.choice([person for person in self.people if person.records])
        self.edit(self.admin, person, self.rng.choice(sorted(person.records)), status_change=True)

    def follow(self, client: Any, answer: Any) -> None:
        """Go where a save sends the browser (the page that shows its flash message), as a browser does."""
        assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
        assert client.get(answer.location).status_code == 200

    def truth(self, owner: str | None = None) -> dict[str, int]:
        """Records per status now, as the workload made them (one owner's, or everyone's)."""
        counts = Counter(
            values["status"]
            for person in self.people
            if owner in (None, person.sub)
            for values in person.records.values()
        )
        return {status: counts[status] for status in STATUSES}


@dataclass
class Measured:
    """The workload run, and every item DynamoDB wrote meanwhile."""

    workload: Workload
    written: list[ddb.Write]
    config: dict[str, Any]
    admin_sub: str
    counts: dict[str | None, dict[str, int]]  # the dashboard's counters afterwards: everyone's (None), each person's

    @property
    def saves(self) -> int:
        return sum(self.workload.saves.values())

    def of(self, setting: str) -> list[ddb.Write]:
        return [write for write in self.written if write.table.name == self.config[setting]]


@pytest.fixture(scope="module")
def measured() -> Iterator[Measured]:
    """The workload, once for the module, in an emulated account with a stream on every table and every write
    call counted; the functions' handlers made for this account (alone, they read their settings from the
    environment)."""
    from localaws.seed import seed_accounts
    from webapp import create_app, create_worker, inbox_handler, stream_handler
    from webapp.records.stats import stats_store

    with stack.emulated_account() as account, pytest.MonkeyPatch.context() as patch:
        session = account["session"]
        ddb.stream_every_table(session.client("dynamodb"))
        subs = seed_accounts(session.client("cognito-idp"), account["COGNITO_USER_POOL_ID"])
        with stack.hosted_login(session, account["COGNITO_USER_POOL_ID"]) as login:
            app = create_app(stack.app_config(account, login))
            settings = {key: value for key, value in app.config.items() if key.endswith(("_TABLE", "_ARN"))}
            patch.setattr(stream_handler, "_worker", create_worker(settings))
            patch.setattr(inbox_handler, "_worker", create_worker(settings))
            calls = ddb.WriteCalls()
            calls.install(patch)
            workload = Workload(app, account, calls, random.Random(17))
            workload.run()
            with app.app_context():
                counts = {owner: stats_store().counts(owner) for owner in [None, *(p.sub for p in workload.people)]}
            found = Measured(workload, ddb.written(session), dict(app.config), subs[ADMIN], counts)
            report(found)
            yield found


def test_no_partition_shared_by_people_takes_more_than_one_nth_of_the_writes(measured):
    shares = ddb.share_table(measured.written)
    owners = owners_of(measured)
    shared = {partition: n for partition, n in shares.items() if partition not in owners}
    assert {partition.split(" ")[0] for partition in shared} >= {  # what every user writes, at least
        "records.by_all",
        "records.by_status",
        "audit.by_time",
        "audit.deleted",
        "stats",  # all#<n>
    }
    hottest, most = max(shared.items(), key=lambda pair: pair[1])
    assert most / len(measured.written) <= 1 / SHARDS, f"{hottest} took {most} of {len(measured.written)} writes"


def test_the_old_design_fails_the_same_measure(measured):
    """Before: every save's transaction wrote one stats#all item (no `events` function wrote counters), and the
    admin-wide indexes were keyed on one value each."""
    total, saves = len(measured.written), measured.saves
    old_total = total - len(measured.of("STATS_TABLE")) + saves
    assert saves / old_total > 1 / SHARDS  # stats#all: every save
    records = measured.of("RECORDS_TABLE")
    by_all = Counter(p for write in records for p in write.partitions if p.startswith("records.by_all kind=record#"))
    assert sum(by_all.values()) == len(records)  # unsharded, one partition would have taken every record write
    assert len(records) / total > 1 / SHARDS
    entries = [write for write in measured.of("AUDIT_TABLE") if write.old is None]
    assert len(entries) / total > 1 / SHARDS  # by_time, unsharded: every audit entry


def test_a_save_writes_its_record_and_audit_entry_in_one_transaction_and_no_counter(measured):
    calls, config = measured.workload.calls, measured.config
    assert len(measured.of("RECORDS_TABLE")) == measured.saves  # each save wrote its record once; nothing else did
    for table in (config["RECORDS_TABLE"], config["AUDIT_TABLE"]):
        assert calls.of(table) == calls.of(table, "save", "TransactWriteItems") > 0
    stats = config["STATS_TABLE"]
    assert calls.of(stats) == calls.of(stats, "events") > 0  # counters: written by the events function only


def test_the_events_function_counted_every_change_once(measured):
    workload = measured.workload
    assert measured.counts[None] == workload.truth()
    for person in workload.people:
        assert measured.counts[person.sub] == workload.truth(person.sub)
    assert workload.saves["edit, not status"] > 0 and workload.saves["restore"] > 0


def owners_of(measured: Measured) -> dict[str, str]:
    """Each partition that is one person's own (it names their sub, or is one of their sessions or records):
    partition -> whose email. A partition not here is shared."""
    emails = {person.sub: person.email for person in measured.workload.people} | {measured.admin_sub: ADMIN}
    record_owner, session_owner = {}, {}
    for write in measured.written:
        image = write.image
        if "owner" in image and "record_id" in image:
            record_owner[image["record_id"]["S"]] = image["owner"]["S"]
        if "user_sub" in image:
            session_owner[image["sid"]["S"]] = image["user_sub"]["S"]
    owners = {}
    for partition in {partition for write in measured.written for partition in write.partitions}:
        place, _, value = partition.partition("=")
        sub = next((sub for sub in emails if sub in value), None)
        if sub is None and place == "sessions sid":
            sub = session_owner.get(value)
        if sub is None and (found := UUID.search(value)):
            sub = record_owner.get(found.group(0))
        if sub is not None:
            owners[partition] = emails.get(sub, sub)
    return owners


def sizes(measured: Measured) -> dict[str, list[int]]:
    """The bytes of each kind of item written, as written (the new image)."""
    config, kinds = measured.config, {}
    for write in measured.written:
        item, table = write.new, write.table.name
        if item is None:
            continue
        if table == config["RECORDS_TABLE"]:
            kind = f"record, {len(item['recent']['L'])} recent entries" if "owner" in item else "record's tombstone"
        elif table == config["AUDIT_TABLE"]:
            kind = f"audit entry, {item['action']['S']}" if write.old is None else "audit entry, its restore noted"
        elif table == config["STATS_TABLE"]:
            kind = "stats " + item["pk"]["S"].split("#")[0] + "#…"
        elif table == config["INBOX_TABLE"]:
            kind = "inbox " + item["sk"]["S"].split("#")[0]
        else:
            kind = table.removeprefix("webapp-")
        kinds.setdefault(kind, []).append(ddb.item_size(item))
    return dict(sorted(kinds.items()))


def units_per_save(measured: Measured) -> Counter[str]:
    """Write units a save costs, by table and index: its record and audit entry (one transaction: double) and
    their index entries (ordinary writes), the counters and notices it set off, and the session writes of its
    requests (the form, the post, the page it lands on)."""
    calls, config, units = measured.workload.calls, measured.config, Counter()
    for setting in ("RECORDS_TABLE", "AUDIT_TABLE", "STATS_TABLE", "INBOX_TABLE"):
        table = config[setting]
        short = table.removeprefix("webapp-")
        transactional = calls.of(table, operation="TransactWriteItems") / max(1, calls.of(table))
        for write in measured.of(setting):
            units[short] += write.units() * (1 + transactional)
            units.update({f"{short}.{index}": n for index, n in write.index_units().items()})
    session = statistics.median(write.units() for write in measured.of("SESSIONS_TABLE"))
    units["sessions"] = calls.of(config["SESSIONS_TABLE"], "save") * session
    return Counter({name: n / measured.saves for name, n in units.items()})


def report(measured: Measured) -> None:
    """What ``pytest -s`` shows: the hottest partitions, the items' sizes, a save's write units."""
    total, saves = len(measured.written), measured.saves
    shares, owners = ddb.share_table(measured.written), owners_of(measured)
    print(f"\n{PEOPLE} people and an admin, {ROUNDS} rounds: {saves} saves ({dict(measured.workload.saves)})")
    print(f"{total} items written, the events and inbox functions' included; 1/N = {1 / SHARDS:.1%}\n")
    print("| share | writes | partition | whose |\n| ---: | ---: | --- | --- |")
    for partition, n in shares.most_common(12):
        print(f"| {n / total:.1%} | {n} | `{partition}` | {owners.get(partition, '**shared**')} |")
    old_total = total - len(measured.of("STATS_TABLE")) + saves
    print(f"| {saves / old_total:.1%} | {saves} | `stats#all`, had it stayed in every save | **shared** |")
    print("\n| item | written | median bytes | largest | write units |\n| --- | ---: | ---: | ---: | ---: |")
    for kind, found in sizes(measured).items():
        print(
            f"| {kind} | {len(found)} | {statistics.median(found):.0f} | {max(found)} | {-(-max(found) // ddb.UNIT)} |"
        )
    per_save = units_per_save(measured)
    units = sum(per_save.values())
    print("\nwrite units per save: " + ", ".join(f"{name} {n:.1f}" for name, n in per_save.most_common()))
    print(f"in all {units:.1f}: ${units * WRITE_UNIT_PRICE:.2f} of DynamoDB per million saves")
    sessions = measured.workload.calls.of(measured.config["SESSIONS_TABLE"], "save") / saves
    print(f"session writes per save (the form, the post, the page it lands on): {sessions:.1f}")
    edits = [w for w in measured.of("RECORDS_TABLE") if "owner" in (w.old or {}) and "owner" in (w.new or {})]
    full = [write for write in edits if len(write.new["recent"]["L"]) == 5]
    if full:
        by_all = statistics.mean(write.index_units().get("by_all", 0) for write in full)
        print(f"an edit of a record with 5 recent entries: {by_all:.1f} units on its by_all shard")
        for label, per_shard in (("the measured mix", per_save["records.by_all"]), ("such edits alone", by_all)):
            print(f"saves a second before a by_all shard takes 1,000 units ({label}): {SHARDS * 1000 / per_shard:,.0f}")
