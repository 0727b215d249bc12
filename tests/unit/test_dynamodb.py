"""What every DynamoDB adapter shares: plain values to typed JSON and back, the paged Query (both ways, and a
filter that leaves pages short), and DynamoDB's refusals as DynamoUnavailable with ``failed_condition``."""

import datetime as dt
from decimal import Decimal

import pytest

from webapp.aws import AwsError
from webapp.dynamodb import DynamoUnavailable, call, from_item, newest, paged_query, to_item

PARTITION = {"#pk": "pk"}


@pytest.fixture
def table(dynamodb, new_table):
    """The notifications table (pk + sk) holding items 00..09 in one partition: 09 is the newest."""
    name = new_table("NOTIFICATIONS_TABLE")
    for n in range(10):
        item = {"pk": "p", "sk": f"{n:02}", "keep": n in (1, 6)}
        dynamodb.put_item(TableName=name, Item=to_item(item))
    return name


def walk(dynamodb, table, size, start=None, backward=False, keep_only=False, max_queries=1):
    params = {
        "TableName": table,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": PARTITION,
        "ExpressionAttributeValues": {":pk": {"S": "p"}},
    }
    if keep_only:
        params |= {"FilterExpression": "keep = :yes"}
        params["ExpressionAttributeValues"] = params["ExpressionAttributeValues"] | {":yes": {"BOOL": True}}
    page = paged_query(
        lambda query: call(dynamodb, "query", **query),
        params,
        size,
        key_of=lambda item: {"pk": item["pk"], "sk": item["sk"]},
        start=start,
        backward=backward,
        max_queries=max_queries,
    )
    return page, [item["sk"]["S"] for item in page.items]


def test_plain_values_survive_the_round_trip_exactly():
    values = {"amount": Decimal("1250.40"), "tags": {"a", "b"}, "on": True, "n": 3, "text": "ünïcødé ✓"}
    assert from_item(to_item(values)) == values
    assert isinstance(from_item(to_item({"x": Decimal("0.10")}))["x"], Decimal)


def test_unset_values_are_left_out_of_the_item():
    assert to_item({"a": None, "b": "", "c": set(), "d": 0, "e": False}) == {"d": {"N": "0"}, "e": {"BOOL": False}}


def test_dates_are_stored_as_sortable_text():
    assert to_item({"due": dt.date(2027, 1, 31)}) == {"due": {"S": "2027-01-31"}}


def test_floats_are_refused_rather_than_rounded():
    with pytest.raises(TypeError):
        to_item({"amount": 0.1})


def test_the_first_page_is_the_newest_and_links_only_to_older_items(dynamodb, table):
    page, keys = walk(dynamodb, table, 3)
    assert keys == ["09", "08", "07"]
    assert page.next_key == {"pk": {"S": "p"}, "sk": {"S": "07"}} and page.previous_key is None
    assert page.queries == 1 and page.items_read == 4 and not page.stopped  # size + 1: is there more?


def test_walking_forward_reaches_the_oldest_page_which_has_no_next(dynamodb, table):
    seen, page = [], None
    for _ in range(4):
        page, keys = walk(dynamodb, table, 3, start=page.next_key if page else None)
        seen.extend(keys)
    assert seen == [f"{n:02}" for n in range(9, -1, -1)]
    assert page.next_key is None and page.previous_key == {"pk": {"S": "p"}, "sk": {"S": "00"}}


def test_walking_backward_returns_the_newer_page_in_newest_first_order(dynamodb, table):
    second, keys = walk(dynamodb, table, 3, start=walk(dynamodb, table, 3)[0].next_key)
    assert keys == ["06", "05", "04"]
    back, back_keys = walk(dynamodb, table, 3, start=second.previous_key, backward=True)
    assert back_keys == ["09", "08", "07"]
    assert back.previous_key is None  # the newest page: nothing newer
    assert back.next_key == {"pk": {"S": "p"}, "sk": {"S": "07"}}


def test_walking_backward_from_the_middle_keeps_a_link_to_newer_items(dynamodb, table):
    page, _ = walk(dynamodb, table, 2, start={"pk": {"S": "p"}, "sk": {"S": "03"}})
    assert [item["sk"]["S"] for item in page.items] == ["02", "01"]
    back, keys = walk(dynamodb, table, 2, start=page.previous_key, backward=True)
    assert keys == ["04", "03"]
    assert back.previous_key == {"pk": {"S": "p"}, "sk": {"S": "04"}}
    assert back.next_key == {"pk": {"S": "p"}, "sk": {"S": "03"}}


def test_walking_backward_past_the_newest_item_gives_the_newest_page(dynamodb, table):
    page, keys = walk(dynamodb, table, 3, start={"pk": {"S": "p"}, "sk": {"S": "09"}}, backward=True)
    assert keys == ["09", "08", "07"] and page.previous_key is None


def test_a_page_that_holds_exactly_the_rest_has_no_next(dynamodb, table):
    page, keys = walk(dynamodb, table, 10)
    assert len(keys) == 10 and page.next_key is None


def test_a_filter_that_leaves_the_page_short_says_so_and_where_to_go_on(dynamodb, table):
    page, keys = walk(dynamodb, table, 2, keep_only=True)
    assert keys == [] and page.stopped and page.queries == 1
    assert page.next_key == {"pk": {"S": "p"}, "sk": {"S": "07"}}  # the last item read, not the last shown


def test_a_filtered_walk_queries_again_until_the_page_is_full(dynamodb, table):
    page, keys = walk(dynamodb, table, 2, keep_only=True, max_queries=10)
    assert keys == ["06", "01"] and page.queries > 1 and page.items_read == 10
    assert page.next_key is None and not page.stopped


def test_a_filtered_walk_continues_from_where_it_stopped(dynamodb, table):
    first, _ = walk(dynamodb, table, 2, keep_only=True)
    rest, keys = walk(dynamodb, table, 2, start=first.next_key, keep_only=True, max_queries=10)
    assert keys == ["06", "01"] and rest.next_key is None and not rest.stopped


def test_newest_reads_the_newest_items_as_plain_values(dynamodb, table):
    found = newest(dynamodb, table, "pk", "p", limit=2)
    assert [item["sk"] for item in found] == ["09", "08"] and found[0]["keep"] is False


def test_a_refused_condition_is_an_answer_not_an_outage(dynamodb, table):
    with pytest.raises(DynamoUnavailable) as refused:
        call(
            dynamodb,
            "put_item",
            TableName=table,
            Item=to_item({"pk": "p", "sk": "00"}),
            ConditionExpression="attribute_not_exists(pk)",
        )
    assert refused.value.failed_condition() and not refused.value.busy
    assert refused.value.code == "ConditionalCheckFailedException"


def test_a_cancelled_transaction_says_which_item_failed_its_condition(dynamodb, table):
    writes = [
        {"Put": {"TableName": table, "Item": to_item({"pk": "q", "sk": "new"})}},
        {
            "Put": {
                "TableName": table,
                "Item": to_item({"pk": "p", "sk": "00"}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
    ]
    with pytest.raises(DynamoUnavailable) as refused:
        call(dynamodb, "transact_write_items", TransactItems=writes)
    assert refused.value.code == "TransactionCanceledException"
    assert refused.value.failed_condition(1) and not refused.value.failed_condition(0)
    assert not refused.value.failed_condition(2)  # no such item in the transaction
    assert "Item" not in dynamodb.get_item(TableName=table, Key=to_item({"pk": "q", "sk": "new"}))


def test_a_transaction_cancelled_by_contention_is_no_failed_condition():
    contention = DynamoUnavailable("TransactionCanceledException", reasons=[{"Code": "TransactionConflict"}])
    assert not contention.failed_condition(0)


@pytest.mark.parametrize(
    ("code", "busy"),
    [
        ("ProvisionedThroughputExceededException", True),
        ("ThrottlingException", True),
        ("RequestLimitExceeded", True),
        ("InternalServerError", True),
        ("TransactionConflictException", True),
        ("AccessDeniedException", False),
        ("ValidationException", False),
    ],
)
def test_dynamodbs_refusals_say_whether_to_retry(dynamodb, table, refuse, code, busy):
    refuse(dynamodb, "GetItem", code)
    with pytest.raises(DynamoUnavailable) as refused:
        call(dynamodb, "get_item", TableName=table, Key=to_item({"pk": "p", "sk": "00"}))
    assert refused.value.code == code and refused.value.busy is busy and isinstance(refused.value, AwsError)


def test_an_unreachable_dynamodb_is_busy(dynamodb, table, refuse):
    refuse(dynamodb, "Query", None)
    with pytest.raises(DynamoUnavailable) as refused:
        walk(dynamodb, table, 3)
    assert refused.value.code == "Unavailable" and refused.value.busy


def test_input_botocore_refuses_is_a_validation_error(dynamodb, table):
    with pytest.raises(DynamoUnavailable) as refused:
        call(dynamodb, "get_item", TableName=table, Key={"pk": "not typed json"})
    assert refused.value.code == "ValidationException" and not refused.value.busy
