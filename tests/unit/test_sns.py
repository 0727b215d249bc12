"""The SNS adapter: subscriptions with their filter policies, what a published message carries and whom it
reaches, SMS, and SNS's refusals turned into SnsError (one topic for the module; each test subscribes its own)."""

import json
import uuid

import pytest

from localaws.resources import TOPIC_NAME
from webapp.sns import Sns, SnsError, attributes, mask


def policy(*audiences, events=("broadcast",)):
    """A filter policy the way the app writes them: on the audience and the event attributes."""
    return json.dumps({"audience": list(audiences), "event": list(events)})


@pytest.fixture(scope="module")
def topic(account):
    return account.client("sns").create_topic(Name=TOPIC_NAME)["TopicArn"]


@pytest.fixture
def sns(account, topic):
    return Sns(account.client("sns"), topic)


@pytest.fixture
def backend(account):
    """moto's record of the emulated SNS: what was published, and to which phone numbers."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]


@pytest.fixture
def inbox(account, sns):
    """``inbox(policy)``: a queue subscribed to the topic with that filter policy, and a reader of what it got."""
    sqs = account.client("sqs")

    def make(filter_policy):
        url = sqs.create_queue(QueueName=f"inbox-{uuid.uuid4().hex[:12]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe("sqs", arn, filter_policy)

        def received():
            answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            return [json.loads(message["Body"])["Subject"] for message in answer.get("Messages", [])]

        return received

    return make


def an_address():
    return f"reader-{uuid.uuid4().hex[:8]}@example.com"


@pytest.mark.parametrize(
    ("endpoint", "shown"),
    [
        ("jane@example.com", "j***@example.com"),
        ("+447700900789", "+44*******789"),
        ("+15550100", "+15***100"),
    ],
)
def test_mask_hides_most_of_an_address_or_number(endpoint, shown):
    assert mask(endpoint) == shown


def test_the_attributes_name_the_audience_and_the_event():
    assert attributes("group:admin", "record.changed") == {
        "audience": {"DataType": "String", "StringValue": "group:admin"},
        "event": {"DataType": "String", "StringValue": "record.changed"},
    }
    assert attributes("all")["event"]["StringValue"] == "broadcast"


def test_a_subscription_is_made_with_its_filter_policy(sns):
    address = an_address()
    arn = sns.subscribe("email", address, policy("all", "user:alice"))
    found = sns.client.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert found["Endpoint"] == address and found["Protocol"] == "email"
    assert json.loads(found["FilterPolicy"])["audience"] == ["all", "user:alice"]


def test_a_confirmed_subscription_is_not_pending(sns):
    arn = sns.subscribe("email", an_address(), policy("all"))
    assert sns.pending(arn) is False


def test_a_subscription_awaiting_confirmation_is_pending(sns, backend):
    arn = sns.subscribe("email", an_address(), policy("all"))
    backend.subscriptions[arn].attributes["PendingConfirmation"] = "true"  # as SNS says until the link is followed
    assert sns.pending(arn) is True


def test_a_subscription_sns_no_longer_knows_is_neither_pending_nor_confirmed(sns):
    arn = sns.subscribe("email", an_address(), policy("all"))
    sns.unsubscribe(arn)
    assert sns.pending(arn) is None


def test_pending_passes_on_any_other_refusal(sns, refuse):
    arn = sns.subscribe("email", an_address(), policy("all"))
    refuse(sns.client, "GetSubscriptionAttributes", "Throttled")
    with pytest.raises(SnsError) as refused:
        sns.pending(arn)
    assert refused.value.code == "Throttled" and refused.value.busy


def test_set_policy_replaces_the_filter_policy(sns):
    arn = sns.subscribe("email", an_address(), policy("all"))
    sns.set_policy(arn, policy("all", "group:admin", events=("broadcast", "record.changed")))
    found = sns.client.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert json.loads(found["FilterPolicy"]) == {
        "audience": ["all", "group:admin"],
        "event": ["broadcast", "record.changed"],
    }


def test_an_unsubscribed_endpoint_leaves_the_topic(sns):
    address = an_address()
    arn = sns.subscribe("email", address, policy("all"))
    sns.unsubscribe(arn)
    listed, _ = sns.subscriptions()
    assert address not in [subscription["Endpoint"] for subscription in listed]


def test_unsubscribing_one_that_is_already_gone_is_fine(sns, refuse):
    refuse(sns.client, "Unsubscribe", "NotFound")
    sns.unsubscribe(f"{sns.topic_arn}:{uuid.uuid4()}")  # what we wanted: no error


def test_unsubscribing_when_sns_is_busy_says_so(sns, refuse):
    refuse(sns.client, "Unsubscribe", "Throttled")
    with pytest.raises(SnsError) as refused:
        sns.unsubscribe(f"{sns.topic_arn}:{uuid.uuid4()}")
    assert refused.value.busy


def test_subscriptions_are_listed_a_page_at_a_time(sns, monkeypatch):
    import moto.sns.models

    monkeypatch.setattr(moto.sns.models, "DEFAULT_PAGE_SIZE", 2)  # SNS's is 100
    for _ in range(3):
        sns.subscribe("email", an_address(), policy("all"))
    seen, token, pages = [], None, 0
    while True:
        page, token = sns.subscriptions(token)
        seen.extend(subscription["SubscriptionArn"] for subscription in page)
        pages += 1
        if not token:
            break
    assert pages >= 2 and len(seen) == len(set(seen)) >= 3


def test_a_published_message_carries_its_subject_and_audience(sns, backend):
    message_id = sns.publish("Maintenance", "Down at noon.", "group:admin")
    sent = {entry[0]: entry for entry in backend.topics[sns.topic_arn].sent_notifications}
    _, message, subject, carried, _ = sent[message_id]
    assert (subject, message) == ("Maintenance", "Down at noon.")
    carried_values = {name: value["Value"] for name, value in carried.items()}
    assert carried_values == {"audience": "group:admin", "event": "broadcast"}


def test_the_attributes_reach_exactly_the_audience_they_name(sns, inbox):
    everyone = inbox(policy("all", "user:alice"))
    admins = inbox(policy("all", "user:bob", "group:admin"))
    carol = inbox(policy("all", "user:carol", events=("broadcast", "record.changed")))
    sns.publish("To all", "m", "all")
    sns.publish("To admins", "m", "group:admin")
    sns.publish("To Alice", "m", "user:alice")
    sns.publish("Carol's record", "m", "user:carol", event="record.changed")
    sns.publish("Alice's record", "m", "user:alice", event="record.changed")  # she did not ask for these
    assert sorted(everyone()) == ["To Alice", "To all"]
    assert sorted(admins()) == ["To admins", "To all"]
    assert sorted(carol()) == ["Carol's record", "To all"]


def test_an_sms_goes_straight_to_the_number(sns, backend):
    message_id = sns.send_sms("+447700900123", "Your code is 1234")
    assert backend.sms_messages[message_id] == ("+447700900123", "Your code is 1234")


def test_an_sms_is_sent_as_transactional(sns, spy):
    calls = spy(sns.client)
    sns.send_sms("+447700900123", "hello")
    [(operation, params)] = calls
    assert operation == "Publish" and "TopicArn" not in params
    assert params["MessageAttributes"]["AWS.SNS.SMS.SMSType"]["StringValue"] == "Transactional"


def test_publishing_to_a_topic_that_is_gone_is_not_found(account):
    gone = Sns(account.client("sns"), "arn:aws:sns:us-east-1:123456789012:no-such-topic")
    with pytest.raises(SnsError) as refused:
        gone.publish("s", "m", "all")
    assert refused.value.code == "NotFound" and not refused.value.busy


@pytest.mark.parametrize(
    ("code", "busy"),
    [
        ("Throttled", True),
        ("ThrottlingException", True),
        ("InternalError", True),
        ("KMSThrottling", True),
        ("AuthorizationError", False),
        ("InvalidParameter", False),
    ],
)
def test_sns_refusals_become_sns_errors_that_say_whether_to_retry(sns, refuse, code, busy):
    refuse(sns.client, "Publish", code)
    with pytest.raises(SnsError) as refused:
        sns.publish("s", "m", "all")
    assert refused.value.code == code and refused.value.busy is busy


def test_an_unreachable_sns_is_busy(sns, refuse):
    refuse(sns.client, "Subscribe", None)
    with pytest.raises(SnsError) as refused:
        sns.subscribe("email", an_address(), policy("all"))
    assert refused.value.code == "Unavailable" and refused.value.busy


def test_input_botocore_refuses_is_an_invalid_parameter(sns):
    with pytest.raises(SnsError) as refused:
        sns.send_sms("+447700900123", None)  # type: ignore[arg-type]
    assert refused.value.code == "InvalidParameter" and not refused.value.busy
