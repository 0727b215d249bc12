"""The Cognito adapter: pages of users, exact and prefix look-ups, groups, admin actions, and Cognito's refusals
turned into CognitoError (one pool for the module: the people below are only read, each change makes its own)."""

import contextlib
import uuid

import pytest

from localaws.resources import ADMIN_GROUP, user_pool
from webapp.cognito import MAX_PAGE, Cognito, CognitoError, PoolUser
from webapp.validation import MAX_EMAIL

PEOPLE = ["ann@example.com", "anna@example.com", "annabel@example.org", "bob@example.com", "carol@example.com"]
ADMINS = ["ann@example.com", "bob@example.com", "carol@example.com"]


@pytest.fixture(scope="module")
def pool(account):
    """The app's pool as the local stack makes it, with five people, three of them admins."""
    client = account.client("cognito-idp")
    pool_id = client.create_user_pool(**user_pool())["UserPool"]["Id"]
    client.create_group(UserPoolId=pool_id, GroupName=ADMIN_GROUP)
    for email in PEOPLE:
        verified = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
        client.admin_create_user(UserPoolId=pool_id, Username=email, UserAttributes=verified)
    for email in ADMINS:
        client.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=ADMIN_GROUP)
    return client, pool_id


@pytest.fixture
def cognito(pool):
    return Cognito(*pool)


@pytest.fixture
def newcomer(cognito):
    """A user of this test's own, for the actions that change someone; gone again after the test, so the module's
    pool always holds exactly PEOPLE."""
    user = cognito.invite(f"new-{uuid.uuid4().hex[:8]}@example.net")
    yield user
    with contextlib.suppress(CognitoError):
        cognito.delete(user.username)


def emails(users):
    return sorted(user.email for user in users)


def test_a_page_lists_every_user_with_their_email_sub_and_status(cognito):
    users, token = cognito.list_users()
    assert emails(users) == sorted(PEOPLE) and token == ""
    ann = next(user for user in users if user.email == "ann@example.com")
    assert ann.sub == ann.attributes["sub"] and ann.username == ann.sub  # email sign-in: the username is the sub
    assert ann.status == "FORCE_CHANGE_PASSWORD" and ann.enabled and ann.created is not None


def test_an_email_prefix_lists_only_the_users_whose_address_starts_with_it(cognito):
    assert emails(cognito.list_users("ann")[0]) == ["ann@example.com", "anna@example.com", "annabel@example.org"]
    assert emails(cognito.list_users("anna")[0]) == ["anna@example.com", "annabel@example.org"]
    assert cognito.list_users("zed")[0] == []


def test_the_pagination_token_continues_where_the_page_ended(cognito):
    first, token = cognito.list_users(limit=2)
    second, token_two = cognito.list_users(token=token, limit=2)
    third, end = cognito.list_users(token=token_two, limit=2)
    assert len(first) == len(second) == 2 and token and token_two and end == ""
    assert emails(first + second + third) == sorted(PEOPLE)


def test_the_prefix_and_the_token_go_together_to_cognito(cognito, spy):
    first, token = cognito.list_users("ann", limit=2)
    calls = spy(cognito.client)
    rest, end = cognito.list_users("ann", token=token, limit=2)
    assert calls[0][1]["Filter"] == 'email ^= "ann"' and calls[0][1]["PaginationToken"] == token
    assert emails(first + rest) == ["ann@example.com", "anna@example.com", "annabel@example.org"] and end == ""


def test_a_page_never_asks_for_more_than_cognitos_limit(cognito, spy):
    calls = spy(cognito.client)
    cognito.list_users(limit=500)
    assert calls[0][1]["Limit"] == MAX_PAGE == 60


@pytest.mark.parametrize("prefix", ["ann\n", "ann\x00", "\r", "a\tb", "ann\u200b"])
def test_a_prefix_with_a_control_character_finds_nobody_without_asking_cognito(cognito, spy, prefix):
    calls = spy(cognito.client)
    assert cognito.list_users(prefix) == ([], "")
    assert calls == []


@pytest.mark.parametrize("prefix", ['"', 'an"n', "ann\\", '\\"'])
def test_a_prefix_with_a_quote_or_backslash_finds_nobody_without_asking_cognito(cognito, spy, prefix):
    """No address the app takes holds one (validation.EMAIL), and either would end the filter's string: a search
    for a lone quote listed every user when the quote was dropped."""
    calls = spy(cognito.client)
    assert cognito.list_users(prefix) == ([], "")
    assert calls == []
    assert cognito.find_by_email(f"{prefix}@example.com") is None


def test_find_by_email_finds_exactly_that_address(cognito):
    found = cognito.find_by_email("anna@example.com")
    assert found is not None and set(found) == {"sub", "email", "username"}
    assert found["email"] == "anna@example.com" and found["username"] == found["sub"]
    assert cognito.find_by_email("ann@example.com")["sub"] != found["sub"]


def test_find_by_email_names_nobody_for_an_address_not_verified(cognito, pool):
    client, pool_id = pool
    email = "unverified@example.com"
    client.admin_create_user(UserPoolId=pool_id, Username=email, UserAttributes=[{"Name": "email", "Value": email}])
    try:
        assert cognito.find_by_email(email) is None
    finally:
        client.admin_delete_user(UserPoolId=pool_id, Username=email)


def test_find_by_email_does_not_match_a_mere_prefix(cognito):
    assert cognito.find_by_email("ann@example.co") is None
    assert cognito.find_by_email("nobody@example.com") is None


@pytest.mark.parametrize("email", ["ann@example.com\n", "x" * (MAX_EMAIL + 1) + "@example.com"])
def test_an_address_nobody_can_have_is_not_looked_up(cognito, spy, email):
    calls = spy(cognito.client)
    assert cognito.find_by_email(email) is None
    assert calls == []


def test_get_user_brings_the_users_groups(cognito):
    ann = cognito.find_by_email("ann@example.com")
    user = cognito.get_user(ann["username"])
    assert user.email == "ann@example.com" and user.groups == [ADMIN_GROUP]
    anna = cognito.find_by_email("anna@example.com")
    assert cognito.get_user(anna["username"]).groups == []


def test_a_missing_user_is_cognitos_user_not_found_and_not_busy(cognito):
    with pytest.raises(CognitoError) as refused:
        cognito.get_user(str(uuid.uuid4()))
    assert refused.value.code == "UserNotFoundException" and not refused.value.busy


def test_members_follows_the_pages_of_the_group(cognito, spy):
    def one_per_page(name, params):
        return params | {"Limit": 1} if name == "ListUsersInGroup" else params

    calls = spy(cognito.client, change=one_per_page)
    members = cognito.members(ADMIN_GROUP)
    assert len(calls) >= 3  # one member per page: the adapter had to follow NextToken
    assert sorted(cognito.get_user(name).email for name in members) == sorted(ADMINS)


def test_group_users_are_whole_users(cognito):
    assert emails(cognito.group_users(ADMIN_GROUP)) == sorted(ADMINS)


def test_an_invitation_creates_a_user_who_must_choose_a_password(cognito, newcomer):
    assert newcomer.email.startswith("new-") and newcomer.status == "FORCE_CHANGE_PASSWORD"
    assert newcomer.attributes["email_verified"] == "true"
    assert cognito.find_by_email(newcomer.email)["sub"] == newcomer.sub


def test_inviting_an_existing_address_is_refused(cognito):
    with pytest.raises(CognitoError) as refused:
        cognito.invite("bob@example.com")
    assert refused.value.code == "UsernameExistsException" and not refused.value.busy


def test_group_membership_can_be_given_and_taken_away(cognito, newcomer):
    cognito.add_to_group(newcomer.username, ADMIN_GROUP)
    assert cognito.groups_of(newcomer.username) == [ADMIN_GROUP]
    assert newcomer.username in cognito.members(ADMIN_GROUP)
    cognito.remove_from_group(newcomer.username, ADMIN_GROUP)
    assert cognito.groups_of(newcomer.username) == []


def test_a_disabled_user_can_be_enabled_again(cognito, newcomer):
    cognito.disable(newcomer.username)
    assert cognito.get_user(newcomer.username).enabled is False
    cognito.enable(newcomer.username)
    assert cognito.get_user(newcomer.username).enabled is True


def test_a_deleted_user_is_gone(cognito, newcomer):
    cognito.delete(newcomer.username)
    with pytest.raises(CognitoError) as refused:
        cognito.get_user(newcomer.username)
    assert refused.value.code == "UserNotFoundException"
    assert cognito.find_by_email(newcomer.email) is None


def test_after_a_password_reset_the_user_must_choose_a_new_one(cognito, newcomer):
    cognito.client.admin_set_user_password(
        UserPoolId=cognito.pool_id, Username=newcomer.username, Password="Chosen-Passw0rd", Permanent=True
    )
    assert cognito.get_user(newcomer.username).status == "CONFIRMED"
    cognito.reset_password(newcomer.username)
    assert cognito.get_user(newcomer.username).status_label == "Must reset password"


def test_signing_out_a_user_who_does_not_exist_is_refused(cognito):
    with pytest.raises(CognitoError) as refused:
        cognito.sign_out_user(str(uuid.uuid4()))
    assert refused.value.code == "UserNotFoundException"


def test_a_refused_access_token_is_not_busy(cognito):
    with pytest.raises(CognitoError) as refused:
        cognito.global_sign_out("not-a-token")
    assert refused.value.code == "NotAuthorizedException" and not refused.value.busy


@pytest.mark.parametrize(
    ("code", "busy"),
    [
        ("TooManyRequestsException", True),
        ("LimitExceededException", True),
        ("InternalErrorException", True),
        ("NotAuthorizedException", False),
        ("InvalidParameterException", False),
    ],
)
def test_cognitos_answers_become_cognito_errors_that_say_whether_to_retry(cognito, refuse, code, busy):
    refuse(cognito.client, "ListUsers", code)
    with pytest.raises(CognitoError) as refused:
        cognito.list_users("ann")
    assert refused.value.code == code and refused.value.busy is busy
    assert refused.value.message == "not today"


def test_an_unreachable_cognito_is_busy(cognito, refuse):
    refuse(cognito.client, "AdminGetUser", None)
    with pytest.raises(CognitoError) as refused:
        cognito.get_user("anyone")
    assert refused.value.code == "Unavailable" and refused.value.busy


def test_input_botocore_refuses_is_cognitos_invalid_parameter(cognito):
    with pytest.raises(CognitoError) as refused:
        cognito.get_user(12345)  # type: ignore[arg-type]
    assert refused.value.code == "InvalidParameterException" and not refused.value.busy


@pytest.mark.parametrize(
    ("status", "label"),
    [
        ("CONFIRMED", "Confirmed"),
        ("FORCE_CHANGE_PASSWORD", "Must change password"),
        ("RESET_REQUIRED", "Must reset password"),
        ("ARCHIVED_BY_SOMEONE", "Archived by someone"),
    ],
)
def test_a_status_is_shown_in_words(status, label):
    assert PoolUser("u", "e", "s", status, True, None).status_label == label


# App clients (the admin console's API clients)


def test_a_machine_client_may_use_client_credentials_only_and_its_secret_is_handed_back_once(cognito, pool):
    client, pool_id = pool
    made = cognito.create_machine_client("api-unit", ["dashboard/records.read"], 60)
    assert len(made["ClientSecret"]) >= 24  # the one answer that holds it
    stored = client.describe_user_pool_client(UserPoolId=pool_id, ClientId=made["ClientId"])["UserPoolClient"]
    assert stored["AllowedOAuthFlows"] == ["client_credentials"] and stored["ExplicitAuthFlows"] == [
        "ALLOW_REFRESH_TOKEN_AUTH"
    ]
    described = cognito.app_client(made["ClientId"])
    assert "ClientSecret" not in described and "ClientSecret" in stored  # Cognito returns it; the adapter drops it
    assert described["AllowedOAuthScopes"] == ["dashboard/records.read"]
    cognito.delete_app_client(made["ClientId"])
    with pytest.raises(CognitoError) as refused:
        cognito.app_client(made["ClientId"])
    assert refused.value.code == "ResourceNotFoundException"


def test_app_clients_come_a_page_of_60_at_a_time_with_the_next_pages_token(cognito):
    made = {
        cognito.create_machine_client(f"api-page-{n}", ["dashboard/records.read"], 60)["ClientId"] for n in range(61)
    }
    first, token = cognito.app_clients()
    assert len(first) == MAX_PAGE and token
    rest, last = cognito.app_clients(token)
    assert last == "" and made <= {found["id"] for found in first + rest}
    assert all(set(found) == {"id", "name"} for found in first)
    for client_id in made:
        cognito.delete_app_client(client_id)
