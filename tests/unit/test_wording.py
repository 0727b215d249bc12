"""Every action the app can record reads as a sentence (webapp/wording.py): the actions are found in the code that
records them, so a new one without words fails here by name."""

import ast
from pathlib import Path

import pytest

from webapp import wording
from webapp.services.users import ACTIONS

ROOT = Path(__file__).resolve().parents[2] / "webapp"
ANA, BEN = "ana@example.com", "ben@example.com"


def recorded_actions() -> set[str]:
    """The action names the services and the records store write to the audit log: every "user.…", "mfa.…" and
    "client.…" string of the services, f"user.{action.name}" for each admin action on a user, and the action each
    record history entry is written with (RecordStore._audit_entry's third argument)."""
    found: set[str] = set()
    for path in [*(ROOT / "services").glob("*.py"), ROOT / "records" / "store.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                prefix, dot, rest = node.value.partition(".")
                if dot and prefix in ("user", "mfa", "client") and rest.replace("-", "").isalpha():
                    found.add(node.value)
            if isinstance(node, ast.JoinedStr) and ast.unparse(node) == "f'user.{action.name}'":
                found |= {f"user.{name}" for name in ACTIONS}
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "_audit_entry":
                found.add(ast.literal_eval(node.args[2]))
    return found


def test_every_action_the_code_records_has_words_and_no_words_are_left_over():
    actions = recorded_actions()
    assert len(actions) >= 4 + len(ACTIONS) + 1 + 2 + 2  # records, admin actions, invite, two-step, API clients
    assert actions == set(wording.WORDS)


def entry(action, **fields):
    return {"action": action, "actor_email": ANA, "target_email": BEN, "outcome": "success"} | fields


@pytest.mark.parametrize("action", sorted(wording.WORDS))
@pytest.mark.parametrize("outcome", ["success", "refused", "failed: NotAuthorizedException"])
def test_each_action_reads_as_a_sentence_done_or_tried(action, outcome):
    said = wording.sentence(entry(action, outcome=outcome, title="Invoice", owner_email=BEN, target_username="api-x"))
    assert said.startswith("ana@example.com ") and "{" not in said and "“" + action not in said
    assert ("tried to" in said) == (outcome != "success")
    assert wording.label(action) and wording.label(action)[0].isupper()


@pytest.mark.parametrize(
    ("fields", "viewer", "said"),
    [
        ({"action": "user.reset-password"}, "", "ana@example.com reset ben@example.com's password"),
        ({"action": "user.promote"}, ANA, "You made ben@example.com an admin"),
        ({"action": "user.promote"}, BEN, "ana@example.com made you an admin"),
        (
            {"action": "user.demote", "outcome": "refused"},
            "",
            "ana@example.com tried to remove ben@example.com from the admins",
        ),
        ({"action": "user.disable"}, BEN, "ana@example.com disabled your account"),
        ({"action": "user.sign-out", "target_email": ANA}, "", "ana@example.com signed themselves out everywhere"),
        ({"action": "user.invite", "detail": "as admin"}, "", "ana@example.com invited ben@example.com as an admin"),
        ({"action": "mfa.on", "target_email": ANA}, ANA, "You turned on two-step verification"),
        (
            {"action": "update", "actor_email": BEN, "owner_email": BEN, "title": "Invoice"},
            "",
            "ben@example.com updated the record “Invoice”",
        ),
        (
            {"action": "delete", "owner_email": BEN, "title": "Invoice"},
            "",
            "ana@example.com deleted ben@example.com's record “Invoice”",
        ),
        (
            {"action": "restore", "owner_email": BEN, "title": "Invoice"},
            BEN,
            "ana@example.com restored your record “Invoice”",
        ),
        (
            {"action": "create", "actor_email": "api-client:7abc", "owner_email": "api-client:7abc", "title": "Feed"},
            "",
            "The API client 7abc created the record “Feed”",
        ),
        (
            {"action": "client.delete", "target_username": "API client api-reports (7abc)"},
            "",
            "ana@example.com deleted the API client api-reports (7abc)",
        ),
        ({"action": "user.archive"}, "", "ana@example.com did “user.archive”"),  # an action without words yet
    ],
)
def test_the_sentences_people_read(fields, viewer, said):
    assert wording.sentence(entry(**fields), viewer) == said


@pytest.mark.parametrize(
    ("outcome", "said"),
    [
        ("success", "Done"),
        ("", "Done"),
        ("refused", "Refused"),
        ("failed: UserNotFoundException", "Failed (UserNotFoundException)"),
        ("done; sessions: not ended (DynamoDB busy)", "Done, but sessions: not ended (DynamoDB busy)"),
    ],
)
def test_outcomes_in_words(outcome, said):
    assert wording.outcome({"outcome": outcome}) == said


def test_the_record_notices_and_lists_use_the_same_words():
    from webapp.records.changes import VERBS

    assert VERBS == {"update": "updated", "delete": "deleted", "restore": "restored"}
    assert [wording.label(action) for action in wording.RECORD_ACTIONS] == ["Created", "Updated", "Deleted", "Restored"]
