"""The inbox's rules (webapp/services/inbox.py): whose messages a user sees and from when, the unread count from
the counts alone, reading pages that merge the partitions newest first, marking one and all read."""

import pytest

from webapp.actors import Actor
from webapp.services import inbox
from webapp.services.inbox import MessageNotFound, State

ALICE = Actor("alice-sub", "alice@example.com")
BOB = Actor("bob-sub", "bob@example.com")
ADMIN = Actor("admin-sub", "admin@example.com", ("admin",))


@pytest.fixture
def app(new_table):
    from webapp import create_worker

    worker = create_worker({"INBOX_TABLE": new_table("INBOX_TABLE")})
    with worker.app_context():
        yield worker


def send(audience="all", subject="Hello", at=None, **fields):
    """One notification stored as the inbox function stores it; its message id."""
    import uuid

    message_id = str(uuid.uuid4())
    assert inbox.deliver(audience, message_id, subject, fields.get("message", "Text"), "broadcast", at or "")
    return message_id


def subjects(actor, below=None):
    return [message.subject for message in inbox.page(actor, below).messages]


# The state, by itself


def test_joining_takes_all_of_ones_own_messages_and_an_audiences_from_now_on():
    state = State("user:alice-sub")
    assert state.adopt({"user:alice-sub": 3, "all": 5, "group:admin": 2})
    assert state.start == {"user:alice-sub": 0, "all": 5, "group:admin": 2}
    assert state.unread({"user:alice-sub": 3, "all": 7, "group:admin": 2}) == 3 + 2
    state.version = 1
    assert not state.adopt({"user:alice-sub": 3, "all": 7})  # nothing new: nothing to save


def test_messages_read_one_by_one_are_counted_off_and_a_run_of_them_moves_the_floor_up():
    state = State("user:alice-sub", start={"all": 0})
    counts = {"all": 5}
    state.mark("all", 2)
    state.mark("all", 4)
    assert state.unread(counts) == 3 and state.read == {"all/2", "all/4"}
    state.mark("all", 1)
    assert state.read_to == {"all": 2} and state.read == {"all/4"}
    assert [seq for seq in range(1, 6) if not state.is_read("all", seq)] == [3, 5]
    state.read_up_to("all", 5)
    assert state.unread(counts) == 0 and state.read == set()


def test_messages_of_a_group_one_has_left_count_no_more():
    state = State("user:alice-sub", start={"user:alice-sub": 0, "all": 0, "group:admin": 0})
    state.mark("group:admin", 3)
    assert state.unread({"user:alice-sub": 0, "all": 1}) == 1


# Whose messages, from when


def test_a_broadcast_reaches_those_who_had_joined_and_not_those_who_join_later(app):
    assert inbox.unread_count(ALICE) == 0  # Alice's first page: she joins
    send("all", "Before Bob")
    assert inbox.unread_count(BOB) == 0  # Bob joins after it
    send("all", "After Bob")
    assert subjects(ALICE) == ["After Bob", "Before Bob"] and inbox.unread_count(ALICE) == 2
    assert subjects(BOB) == ["After Bob"] and inbox.unread_count(BOB) == 1


def test_a_message_to_one_user_is_theirs_alone_even_sent_before_their_first_visit(app):
    send("user:alice-sub", "For Alice")
    assert subjects(ALICE) == ["For Alice"] and inbox.unread_count(ALICE) == 1
    assert subjects(BOB) == [] and inbox.unread_count(BOB) == 0


def test_a_groups_messages_reach_its_members_from_when_they_were_first_seen_in_it(app):
    inbox.unread_count(ADMIN)
    inbox.unread_count(ALICE)
    send("group:admin", "Admins only")
    assert subjects(ADMIN) == ["Admins only"] and subjects(ALICE) == []
    promoted = Actor(ALICE.sub, ALICE.email, ("admin",))
    assert inbox.unread_count(promoted) == 0  # from now on
    send("group:admin", "Admins again")
    assert subjects(promoted) == ["Admins again"] and inbox.unread_count(promoted) == 1


def test_the_unread_count_is_one_batch_read_once_the_user_has_joined(app, spy):
    from webapp import aws

    inbox.unread_count(ADMIN)
    calls = spy(aws.client("dynamodb"))
    send("all")
    calls.clear()
    assert inbox.unread_count(ADMIN) == 1
    assert [name for name, _ in calls] == ["BatchGetItem"]
    keys = calls[0][1]["RequestItems"]["webapp-inbox"]["Keys"]
    assert len(keys) == 4  # the state, and the heads of the user's, everyone's and the admins' partitions


# Pages


def test_pages_merge_the_partitions_newest_first_and_go_on_exactly_where_they_stopped(app):
    inbox.unread_count(ALICE)
    expected = []
    for n in range(45):
        audience = "user:alice-sub" if n % 3 == 0 else "all"
        send(audience, f"Message {n}", at=f"2026-11-30T10:{n:02d}:00Z")
        expected.insert(0, f"Message {n}")
    send("user:bob-sub", "Not Alice's")
    seen, below, pages = [], None, 0
    while True:
        page = inbox.page(ALICE, below)
        pages += 1
        seen += [message.subject for message in page.messages]
        if page.older is None:
            break
        below = page.older
    assert seen == expected and pages == 3
    assert [len(inbox.page(ALICE).messages)] == [inbox.PAGE_SIZE]


def test_a_page_says_which_messages_are_unread_and_the_counts_it_read(app):
    inbox.unread_count(ALICE)
    first, second = send("all", "First", at="2026-11-30T10:00:00Z"), send("all", "Second", at="2026-11-30T11:00:00Z")
    inbox.mark_read(ALICE, first)
    page = inbox.page(ALICE)
    assert [(m.subject, m.read, m.kind, m.audience) for m in page.messages] == [
        ("Second", False, "Announcement", "Everyone"),
        ("First", True, "Announcement", "Everyone"),
    ]
    assert page.unread == 1 and page.counts == {"user:alice-sub": 0, "all": 2}
    assert second == page.messages[0].message_id


# Marking read


def test_marking_one_read_counts_it_off_once(app):
    inbox.unread_count(ALICE)
    message_id = send("all")
    send("user:alice-sub")
    inbox.mark_read(ALICE, message_id)
    inbox.mark_read(ALICE, message_id)  # again: already read, nothing changes
    assert inbox.unread_count(ALICE) == 1


@pytest.mark.parametrize("whose", ["another user's", "from before joining", "missing", "malformed"])
def test_a_message_outside_the_users_inbox_is_not_found(app, whose):
    early = send("all")
    inbox.unread_count(ALICE)
    message_id = {
        "another user's": lambda: send("user:bob-sub"),
        "from before joining": lambda: early,
        "missing": lambda: "00000000-0000-0000-0000-000000000000",
        "malformed": lambda: "../" + "x" * 200,
    }[whose]()
    with pytest.raises(MessageNotFound):
        inbox.mark_read(ALICE, message_id)
    assert inbox.unread_count(BOB) == (1 if whose == "another user's" else 0)


def test_mark_all_read_marks_what_the_page_showed_and_not_what_came_since(app):
    inbox.unread_count(ALICE)
    send("all")
    send("user:alice-sub")
    shown = inbox.page(ALICE)
    send("all", "Since")
    inbox.mark_all_read(ALICE, shown.counts)
    assert inbox.unread_count(ALICE) == 1
    assert [m.subject for m in inbox.page(ALICE).messages if not m.read] == ["Since"]
    inbox.mark_all_read(ALICE)
    assert inbox.unread_count(ALICE) == 0


def test_mark_all_read_cannot_mark_messages_in_advance(app):
    inbox.unread_count(ALICE)
    inbox.mark_all_read(ALICE, {"all": 99, "user:alice-sub": 99, "user:bob-sub": 99})
    send("all")
    assert inbox.unread_count(ALICE) == 1


def test_a_state_changed_by_another_request_meanwhile_is_read_again_not_overwritten(app, monkeypatch):
    from webapp.inbox.store import InboxStore

    inbox.unread_count(ALICE)
    first, second = send("all"), send("all")
    real = InboxStore.save_state
    raced = []

    def other_tab_first(self, state, version):
        if not raced:
            raced.append(True)
            inbox.mark_read(ALICE, second)  # another tab marks the other message at the same moment
        return real(self, state, version)

    monkeypatch.setattr(InboxStore, "save_state", other_tab_first)
    inbox.mark_read(ALICE, first)
    assert inbox.unread_count(ALICE) == 0


def test_a_group_named_with_slashes_and_equals_signs_works_like_any_other(app):
    member = Actor("carol-sub", "carol@example.com", ("team/a=b",))
    inbox.unread_count(member)
    first, _ = send("group:team/a=b", "One"), send("group:team/a=b", "Two")
    inbox.mark_read(member, first)
    assert inbox.unread_count(member) == 1
    page = inbox.page(member)
    inbox.mark_all_read(member, page.counts)
    assert inbox.unread_count(member) == 0 and [m.audience for m in page.messages] == ["Group team/a=b"] * 2
