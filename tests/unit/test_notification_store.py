"""The notifications table: subscriptions with their owner claim (one account per endpoint), preferences,
message templates, once-only send claims, and the send history newest first, a page at a time."""

import time

import pytest

from webapp.dynamodb import DynamoUnavailable
from webapp.notifications.store import (
    CLAIM_SECONDS,
    AlreadyOwned,
    NotificationStore,
    TemplateChanged,
    TemplateExists,
)

ALICE, BOB = "alice-sub", "bob-sub"
ARN = "arn:aws:sns:us-east-1:123456789012:webapp-notifications:"


@pytest.fixture
def store(dynamodb, new_table):
    return NotificationStore(dynamodb, new_table("NOTIFICATIONS_TABLE"))


def subscribe(store, user=ALICE, endpoint="alice@example.com", protocol="email", arn="1", previous=None):
    subscription = {"protocol": protocol, "endpoint": endpoint, "arn": ARN + arn, "state": "pending"}
    store.add_subscription(user, f"{user}@example.com", subscription, previous)


def endpoints(store, user):
    return [(item["protocol"], item["endpoint"]) for item in store.subscriptions_of(user)]


def test_a_subscription_is_listed_with_its_arn_and_time(store):
    subscribe(store)
    [mine] = store.subscriptions_of(ALICE)
    assert (mine["protocol"], mine["endpoint"], mine["arn"]) == ("email", "alice@example.com", ARN + "1")
    assert mine["created_at"] > "2000"
    assert store.subscriptions_of(BOB) == []


def test_a_subscription_claims_its_endpoint_for_its_user(store):
    subscribe(store)
    owner = store.owner_of("email", "alice@example.com")
    assert owner["owner"] == ALICE and owner["owner_email"] == "alice-sub@example.com"
    assert store.owner_of("sms", "alice@example.com") is None  # the same text under another protocol is not claimed


def test_subscribing_the_same_endpoint_again_is_fine_for_its_owner(store):
    subscribe(store, arn="1")
    subscribe(store, arn="2")
    [mine] = store.subscriptions_of(ALICE)
    assert mine["arn"] == ARN + "2"


def test_an_endpoint_owned_by_another_user_is_already_owned_and_nothing_is_written(store):
    subscribe(store, ALICE, "shared@example.com")
    with pytest.raises(AlreadyOwned):
        subscribe(store, BOB, "shared@example.com")
    assert store.subscriptions_of(BOB) == []
    assert store.owner_of("email", "shared@example.com")["owner"] == ALICE


def test_a_user_keeps_several_endpoints_apart(store):
    subscribe(store, endpoint="alice@example.com")
    subscribe(store, endpoint="+447700900123", protocol="sms", arn="2")
    assert sorted(endpoints(store, ALICE)) == [("email", "alice@example.com"), ("sms", "+447700900123")]


def test_removing_a_subscription_frees_its_endpoint(store):
    subscribe(store, ALICE, "shared@example.com")
    store.remove_subscription(ALICE, "email", "shared@example.com")
    assert store.subscriptions_of(ALICE) == [] and store.owner_of("email", "shared@example.com") is None
    subscribe(store, BOB, "shared@example.com")
    assert store.owner_of("email", "shared@example.com")["owner"] == BOB


def test_removing_a_subscription_that_is_not_there_is_fine(store):
    store.remove_subscription(ALICE, "email", "never@example.com")
    assert store.subscriptions_of(ALICE) == []


def test_a_throttled_subscription_is_not_mistaken_for_another_owner(store, refuse):
    refuse(store.client, "TransactWriteItems", "ThrottlingException")
    with pytest.raises(DynamoUnavailable) as refused:
        subscribe(store)
    assert refused.value.busy and refused.value.code == "ThrottlingException"


def test_a_cancelled_write_of_the_users_own_item_is_not_already_owned(store, refuse):
    reasons = [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]
    refuse(store.client, "TransactWriteItems", "TransactionCanceledException", reasons)
    with pytest.raises(DynamoUnavailable):
        subscribe(store)


def test_owners_are_read_for_many_endpoints_at_once(store, spy):
    subscribe(store, ALICE, "alice@example.com")
    subscribe(store, BOB, "+447700900123", protocol="sms")
    subscribe(store, BOB, "odd#name@example.com")  # a '#' in the address itself
    calls = spy(store.client)
    wanted = [("email", "alice@example.com"), ("sms", "+447700900123"), ("email", "odd#name@example.com")]
    found = store.owners([*wanted, ("email", "nobody@example.com"), ("email", "alice@example.com")])
    assert set(found) == set(wanted)
    assert found[("sms", "+447700900123")]["owner"] == BOB
    assert [name for name, _ in calls] == ["BatchGetItem"]


def test_owners_of_more_than_a_hundred_endpoints_take_one_batch_per_hundred(store, spy):
    calls = spy(store.client)
    assert store.owners([("email", f"n{n}@example.com") for n in range(150)]) == {}
    assert [len(params["RequestItems"][store.table]["Keys"]) for _, params in calls] == [100, 50]


def test_record_events_are_off_until_asked_for(store):
    assert store.record_events(ALICE) is False
    store.set_record_events(ALICE, True)
    assert store.record_events(ALICE) is True and store.record_events(BOB) is False
    store.set_record_events(ALICE, False)
    assert store.record_events(ALICE) is False


def test_preferences_are_not_a_subscription(store):
    store.set_record_events(ALICE, True)
    assert store.subscriptions_of(ALICE) == []


def test_message_templates_are_saved_listed_by_name_and_read_back(store):
    store.save_message_template("outage", "We are down", "Back soon.", "admin@example.com", replace=False)
    store.save_message_template("welcome", "Hello", "Welcome aboard.", "admin@example.com", replace=False)
    assert [t["sk"] for t in store.message_templates()] == ["outage", "welcome"]
    outage = store.message_template("outage")
    assert (outage["subject"], outage["message"]) == ("We are down", "Back soon.")
    assert outage["author"] == "admin@example.com" and outage["updated_at"] > "2000"
    assert store.message_template("missing") is None


def test_saving_a_template_under_its_name_again_replaces_it(store):
    store.save_message_template("outage", "We are down", "Back soon.", "a@example.com", replace=False)
    store.save_message_template("outage", "Still down", "Later.", "b@example.com", replace=True)
    [only] = store.message_templates()
    assert (only["subject"], only["author"]) == ("Still down", "b@example.com")


def test_a_deleted_template_is_gone(store):
    store.save_message_template("outage", "We are down", "Back soon.", "a@example.com", replace=False)
    store.delete_message_template("outage")
    assert store.message_template("outage") is None and store.message_templates() == []


def test_a_new_template_never_replaces_one_of_the_same_name_unasked(store):
    store.save_message_template("outage", "We are down", "Back soon.", "a@example.com", replace=False)
    with pytest.raises(TemplateExists):
        store.save_message_template("outage", "Still down", "Later.", "b@example.com", replace=False)
    assert store.message_template("outage")["subject"] == "We are down"


def test_an_edit_is_saved_only_over_the_template_as_its_form_found_it(store):
    store.save_message_template("outage", "We are down", "Back soon.", "a@example.com", replace=False)
    seen = store.message_template("outage")["updated_at"]
    store.update_message_template("outage", "Still down", "Later.", "b@example.com", seen)
    with pytest.raises(TemplateChanged) as changed:  # a second edit from the same, now stale, form
        store.update_message_template("outage", "Mine", "Mine.", "c@example.com", seen)
    assert changed.value.current["subject"] == "Still down"
    store.delete_message_template("outage")
    with pytest.raises(TemplateChanged) as gone:
        store.update_message_template("outage", "Mine", "Mine.", "c@example.com", changed.value.current["updated_at"])
    assert gone.value.current is None and store.message_template("outage") is None


def test_a_send_notes_its_outcome_on_its_claim_and_only_what_went_counts_in_its_month(store):
    store.claim("send-1")
    assert store.send_result("send-1") == {}  # claimed, not recorded yet
    store.record_send("send-1", {"subject": "Hello", "outcome": "sent", "message_id": "m-1"})
    store.claim("send-2")
    store.record_send("send-2", {"subject": "Hello", "outcome": "failed: Throttled"})
    assert store.send_result("send-1")["message_id"] == "m-1"
    assert store.send_result("send-2")["outcome"] == "failed: Throttled"
    assert store.send_result("never-used") is None
    month = store.history(10).items[0]["at"][:7]
    assert store.sent_in_month(month) == 1 and store.sent_in_month("1999-01") == 0


def test_a_draft_is_forgotten_only_by_the_send_of_its_own_preview(store):
    store.save_draft(ALICE, {"subject": "Newer", "send_id": "id-2"})
    assert store.delete_draft(ALICE, "id-1") is False and store.draft(ALICE)["subject"] == "Newer"
    assert store.delete_draft(ALICE, "id-2") is True and store.draft(ALICE) is None
    assert store.delete_draft(ALICE) is False  # nothing left to discard


def test_a_send_form_can_be_claimed_only_once(store):
    assert store.claim("send-1") is True
    assert store.claim("send-1") is False
    assert store.claim("send-2") is True


def test_a_claim_expires_after_a_week(store):
    store.claim("send-1")
    key = {"pk": {"S": "claim#send-1"}, "sk": {"S": "claim"}}
    expires = int(store.client.get_item(TableName=store.table, Key=key)["Item"]["expires_at"]["N"])
    assert abs(expires - (time.time() + CLAIM_SECONDS)) < 60


def test_a_claim_the_table_could_not_take_is_an_error_not_a_used_form(store, refuse):
    refuse(store.client, "PutItem", "ProvisionedThroughputExceededException")
    with pytest.raises(DynamoUnavailable) as refused:
        store.claim("send-1")
    assert refused.value.busy


def test_a_send_is_recorded_with_what_was_sent(store):
    store.record_send("send-1", {"subject": "Hello", "audience": "all", "recipients": 3, "sender": "admin@example.com"})
    [entry] = store.history(10).items
    assert entry["send_id"] == "send-1" and entry["sk"] == f"{entry['at']}#send-1"
    assert (entry["subject"], entry["audience"], entry["recipients"]) == ("Hello", "all", 3)


def test_the_history_reads_newest_first_a_page_at_a_time(store):
    for n in range(5):
        store.record_send(f"send-{n}", {"subject": f"Message {n}"})
    first = store.history(2)
    second = store.history(2, start=first.next_key)
    last = store.history(2, start=second.next_key)
    subjects = [[entry["subject"] for entry in page.items] for page in (first, second, last)]
    assert subjects == [["Message 4", "Message 3"], ["Message 2", "Message 1"], ["Message 0"]]
    assert first.previous_key is None and last.next_key is None


def test_the_history_pages_back_to_newer_sends(store):
    for n in range(5):
        store.record_send(f"send-{n}", {"subject": f"Message {n}"})
    second = store.history(2, start=store.history(2).next_key)
    back = store.history(2, start=second.previous_key, backward=True)
    assert [entry["subject"] for entry in back.items] == ["Message 4", "Message 3"] and back.previous_key is None


def test_the_history_holds_only_sends(store):
    subscribe(store)
    store.claim("send-1")
    store.save_message_template("outage", "We are down", "Back soon.", "a@example.com", replace=False)
    page = store.history(10)
    assert page.items == [] and page.next_key is None


def test_a_history_the_table_cannot_read_is_busy(store, refuse):
    refuse(store.client, "Query", "InternalServerError")
    with pytest.raises(DynamoUnavailable) as refused:
        store.history(10)
    assert refused.value.busy


def test_an_owner_proved_elsewhere_takes_the_endpoint_over_in_one_write(store):
    subscribe(store, user=BOB, endpoint="shared@example.com")
    subscribe(store, user=ALICE, endpoint="shared@example.com", arn="2", previous=BOB)
    assert store.owner_of("email", "shared@example.com")["owner"] == ALICE
    assert endpoints(store, BOB) == [] and endpoints(store, ALICE) == [("email", "shared@example.com")]


def test_a_takeover_from_an_owner_who_no_longer_owns_it_is_refused(store):
    subscribe(store, user=BOB, endpoint="shared@example.com")
    with pytest.raises(AlreadyOwned):
        subscribe(store, user=ALICE, endpoint="shared@example.com", previous="someone-else")
    assert store.owner_of("email", "shared@example.com")["owner"] == BOB


def test_a_phone_check_counts_wrong_codes_up_to_the_limit(store):
    store.put_phone_check(ALICE, "+447700900123", "hash", int(time.time()) + 600)
    assert [store.count_wrong_code(ALICE, "+447700900123", 2) for _ in range(3)] == [True, True, False]
    assert store.phone_check(ALICE, "+447700900123")["attempts"] == 2
    store.delete_phone_check(ALICE, "+447700900123")
    assert store.phone_check(ALICE, "+447700900123") is None
    assert store.count_wrong_code(ALICE, "+447700900123", 2) is False
