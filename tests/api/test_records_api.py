"""The JSON API's records: the same rules as the pages (ownership, versions, the three-way merge, the audit),
JSON in the types schema.py declares, problem+json for every error, and safe retries."""

import uuid

import pytest

GOOD = {"title": "Quarterly invoice", "status": "open", "amount": "1250.40", "due": "2027-01-31", "tags": ["q1"]}


def create(api, **changes):
    answer = api.post("/api/v1/records", json=GOOD | changes)
    assert answer.status_code == 201, answer.get_json()
    return answer


def test_a_record_round_trips_in_the_declared_types(api_user):
    made = create(api_user, notes="Café — ✓", tags=["q1", "Finance"])
    record = made.get_json()
    assert made.headers["Location"] == f"/api/v1/records/{record['id']}" and made.headers["ETag"] == '"1"'
    assert record["amount"] == "1250.40" and record["due"] == "2027-01-31"
    assert record["tags"] == ["finance", "q1"] and record["notes"] == "Café — ✓"
    again = api_user.get(made.headers["Location"])
    assert again.get_json() == record and again.headers["ETag"] == '"1"'
    assert again.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"title": ""}, "title", "Title is required."),
        ({"status": "archived"}, "status", "Not a valid choice."),
        ({"amount": "12.345"}, "amount", "“12.345” could mean 12,345 or 12.345."),
        ({"amount": "1.234567"}, "amount", "Use at most 2 decimal places."),
        ({"amount": 1e400}, "amount", "Enter a number"),
        ({"due": "2027-13-01"}, "due", "Not a valid date value."),
        ({"tags": "q1"}, "tags", "Not an array of strings."),
        ({"title": 7}, "title", "Not a string."),
    ],
)
def test_bad_fields_are_a_422_problem_naming_each_field_and_nothing_is_written(api_user, body, field, message):
    answer = api_user.post("/api/v1/records", json=GOOD | body)
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    problem = answer.get_json()
    assert problem["type"].endswith("/validation-failed")
    assert any(message in text for text in problem["errors"][field])
    assert api_user.get("/api/v1/records").get_json()["items"] == []


@pytest.mark.parametrize(
    ("data", "content_type", "says"),
    [
        ("not json", "application/json", "not valid JSON"),
        ("[1, 2]", "application/json", "JSON object"),
        ('{"title": "x"}', "text/plain", "application/json"),
        ('{"colour": "red", "title": "x", "status": "open"}', "application/json", "Unknown field: colour"),
    ],
)
def test_a_body_that_is_not_a_record_is_a_400_problem(api_user, data, content_type, says):
    answer = api_user.post("/api/v1/records", data=data, content_type=content_type)
    assert answer.status_code == 400 and says in answer.get_json()["detail"]


def test_a_retried_create_with_the_same_idempotency_key_makes_one_record(api_user):
    first = api_user.post("/api/v1/records", json=GOOD, headers={"Idempotency-Key": "order-42"})
    again = api_user.post("/api/v1/records", json=GOOD, headers={"Idempotency-Key": "order-42"})
    assert first.status_code == again.status_code == 201
    assert first.headers["Location"] == again.headers["Location"]
    assert len(api_user.get("/api/v1/records").get_json()["items"]) == 1
    reused = api_user.post("/api/v1/records", json=GOOD | {"title": "Other"}, headers={"Idempotency-Key": "order-42"})
    assert reused.status_code == 422 and reused.get_json()["type"].endswith("/idempotency-key-reused")


def test_the_same_idempotency_key_from_two_callers_makes_two_records(api_user, api_other):
    first = api_user.post("/api/v1/records", json=GOOD, headers={"Idempotency-Key": "k"})
    second = api_other.post("/api/v1/records", json=GOOD, headers={"Idempotency-Key": "k"})
    assert first.status_code == second.status_code == 201 and first.headers["Location"] != second.headers["Location"]


def test_patch_changes_only_the_fields_sent_and_needs_if_match(api_user):
    url = create(api_user).headers["Location"]
    missing = api_user.patch(url, json={"amount": "9.99"})
    assert missing.status_code == 428 and missing.get_json()["type"].endswith("/precondition-required")
    saved = api_user.patch(url, json={"amount": "9.99", "notes": None}, headers={"If-Match": '"1"'})
    assert saved.status_code == 200 and saved.headers["ETag"] == '"2"'
    record = saved.get_json()
    assert record["amount"] == "9.99" and record["title"] == GOOD["title"] and record["tags"] == ["q1"]
    history = api_user.get(f"{url}/history").get_json()["items"]
    assert history[0]["changes"] == {"amount": {"from": "1,250.40", "to": "9.99"}}


def test_a_stale_patch_of_other_fields_is_merged_and_says_with_what(api_user, api_admin):
    url = create(api_user).headers["Location"]
    assert api_admin.patch(url, json={"amount": "1600.00"}, headers={"If-Match": '"1"'}).status_code == 200
    merged = api_user.patch(url, json={"title": "Renamed"}, headers={"If-Match": '"1"'})
    assert merged.status_code == 200 and merged.headers["X-Merged-With"] == "amount"
    assert merged.get_json() | {} == merged.get_json() and merged.get_json()["amount"] == "1600.00"
    assert merged.get_json()["title"] == "Renamed" and merged.headers["ETag"] == '"3"'


def test_a_stale_patch_of_a_field_changed_since_is_a_412_with_the_record_now(api_user, api_admin):
    url = create(api_user).headers["Location"]
    api_admin.patch(url, json={"amount": "1600.00"}, headers={"If-Match": '"1"'})
    stale = api_user.patch(url, json={"amount": "1700.00"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.headers["ETag"] == '"2"'
    problem = stale.get_json()
    assert problem["detail"] == "Changed since that version: amount." and problem["current"]["amount"] == "1600.00"


def test_delete_needs_the_current_version(api_user):
    url = create(api_user).headers["Location"]
    assert api_user.delete(url).status_code == 428
    api_user.patch(url, json={"title": "v2"}, headers={"If-Match": '"1"'})
    assert api_user.delete(url, headers={"If-Match": '"1"'}).status_code == 412
    assert api_user.delete(url, headers={"If-Match": '"2"'}).status_code == 204
    assert api_user.get(url).status_code == 404


def test_the_list_pages_with_a_cursor_and_filters(api_user):
    for n in range(5):
        create(api_user, title=f"Item {n}", status="done" if n % 2 else "open")
    first = api_user.get("/api/v1/records?limit=2").get_json()
    second = api_user.get(f"/api/v1/records?limit=2&cursor={first['next_cursor']}").get_json()
    assert [r["title"] for r in first["items"] + second["items"]] == ["Item 4", "Item 3", "Item 2", "Item 1"]
    done = api_user.get("/api/v1/records?status=done").get_json()["items"]
    assert sorted(r["title"] for r in done) == ["Item 1", "Item 3"]
    assert [r["title"] for r in api_user.get("/api/v1/records?q=item 2").get_json()["items"]] == ["Item 2"]
    wrong = api_user.get(f"/api/v1/records?limit=3&cursor={first['next_cursor']}")
    assert wrong.status_code == 400  # a cursor made for other parameters


def test_the_list_takes_the_pages_orders_and_its_cursor_keeps_to_one(api_user):
    for n, due in enumerate(["2027-03-05", "2027-03-01", None, "2027-03-03"]):
        create(api_user, title=f"Item {n}", due=due)
    titles = lambda answer: [r["title"] for r in answer.get_json()["items"]]  # noqa: E731
    first = api_user.get("/api/v1/records?sort=due_asc&limit=2")
    second = api_user.get(f"/api/v1/records?sort=due_asc&limit=2&cursor={first.get_json()['next_cursor']}")
    assert titles(first) + titles(second) == ["Item 1", "Item 3", "Item 0", "Item 2"]  # no due date: last
    assert titles(api_user.get("/api/v1/records?sort=updated_asc")) == ["Item 0", "Item 1", "Item 2", "Item 3"]
    other_order = f"/api/v1/records?sort=due_desc&limit=2&cursor={first.get_json()['next_cursor']}"
    assert api_user.get(other_order).status_code == 400  # a cursor made for another order


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=x", "status=archived", "cursor=forged", "q=" + "x" * 101, "sort=title"]
)
def test_bad_parameters_are_a_400_problem(api_user, query):
    answer = api_user.get(f"/api/v1/records?{query}")
    assert answer.status_code == 400 and answer.get_json()["type"].endswith("/invalid-parameter")


def test_an_unknown_api_path_or_method_is_a_problem_not_a_page(api_user):
    assert api_user.client.get("/api/v1/nothing-here", environ_base={}).mimetype == "application/problem+json"
    answer = api_user.client.put(f"/api/v1/records/{uuid.uuid4()}", environ_base={})
    assert answer.status_code == 405 and answer.mimetype == "application/problem+json"


def test_the_openapi_document_is_valid_and_describes_every_api_route(app):
    from openapi_spec_validator import validate

    document = app.test_client().get("/api/v1/openapi.json").get_json()
    validate(document)
    described = {
        (f"/api/v1{path}", method.upper()) for path, operations in document["paths"].items() for method in operations
    }
    routes = {
        (rule.rule.replace("<uuid:record_id>", "{record_id}"), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        and rule.rule.startswith("/api/v1/")
        and rule.endpoint != "api.openapi_document"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert described == routes


def test_a_body_over_the_api_cap_is_a_413_problem_and_writes_nothing(api_user):
    answer = api_user.post(
        "/api/v1/records", data=b'{"title": "' + b"x" * 70_000 + b'"}', content_type="application/json"
    )
    assert answer.status_code == 413 and answer.mimetype == "application/problem+json"
    assert api_user.get("/api/v1/records").get_json()["items"] == []


@pytest.mark.parametrize("never", ['"0"', '"2"', '"964"'])
def test_an_if_match_naming_a_version_the_record_never_had_is_412(api_user, never):
    url = create(api_user).headers["Location"]
    answer = api_user.patch(url, json={"notes": "Changed"}, headers={"If-Match": never})
    assert answer.status_code == 412 and answer.headers["ETag"] == '"1"'
    assert api_user.get(url).get_json()["notes"] is None


@pytest.mark.parametrize("weak", ['W/"1"', ' W/"1"'])
def test_a_weak_etag_in_if_match_never_matches(api_user, weak):
    """RFC 9110, 13.1.1: If-Match compares entity tags strongly, and a weak one matches nothing."""
    url = create(api_user).headers["Location"]
    for answer in (
        api_user.patch(url, json={"notes": "Changed"}, headers={"If-Match": weak}),
        api_user.delete(url, headers={"If-Match": weak}),
    ):
        assert answer.status_code == 412 and "strong ETag" in answer.get_json()["detail"]
    assert api_user.get(url).get_json()["notes"] is None
