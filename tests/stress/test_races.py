"""Races over real HTTP against the local stack (`make stress`): requests in flight while a session is ended,
and two admins acting on each other at the same moment. Each round is many real concurrent requests; the
outcome must be the same every round."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.stress.conftest import Visitor
from tests.support.forms import hidden

PASSWORD = "Races-Passw0rd"
ROUNDS = 3
BUSY_THREADS = 6
POSTS_EACH = 8


def person(stack, admin: bool = False) -> tuple[str, str]:
    email = f"race-{uuid.uuid4().hex[:8]}@example.com"
    sub = stack.create_user(email, PASSWORD)
    if admin:
        stack.client("cognito-idp").admin_add_user_to_group(UserPoolId=stack.pool_id, Username=email, GroupName="admin")
    return email, sub


def signed_in(stack, email: str) -> Visitor:
    visitor = Visitor(stack)
    visitor.sign_in(email, PASSWORD)
    return visitor


def token(visitor: Visitor) -> str:
    return hidden(visitor.get("/account").text, "csrf_token")


def keep_busy(visitor: Visitor, csrf: str, start: threading.Barrier) -> list[int]:
    """Post to a cheap page that flashes a message (it writes the session), again and again."""
    start.wait()
    return [
        visitor.post("/account/record-events", data={"csrf_token": csrf, "record_events": "on"}).status_code
        for _ in range(POSTS_EACH)
    ]


def test_a_session_ended_while_requests_are_in_flight_stays_ended(stack):
    """Sign out everywhere from one device while another device's six tabs keep posting: the second device
    used to answer 200 afterwards, every time, because an in-flight request wrote its session back."""
    for _ in range(ROUNDS):
        email, _ = person(stack)
        device_a, device_b = signed_in(stack, email), signed_in(stack, email)
        csrf_b, csrf_a = token(device_b), token(device_a)
        start = threading.Barrier(BUSY_THREADS + 1)
        with ThreadPoolExecutor(BUSY_THREADS) as pool:
            busy = [pool.submit(keep_busy, device_b, csrf_b, start) for _ in range(BUSY_THREADS)]
            start.wait()
            assert device_a.post("/account/sign-out-everywhere", data={"csrf_token": csrf_a}).status_code == 302
            codes = [code for future in busy for code in future.result()]
        assert set(codes) <= {302, 400}, codes  # a redirect, or a form refused once its session was gone
        assert device_b.get("/account").status_code == 302  # signed out, and stays signed out
        assert device_b.get("/account").status_code == 302


def test_a_demoted_admin_loses_the_console_even_with_requests_in_flight(stack):
    for _ in range(ROUNDS):
        email, _ = person(stack, admin=True)
        boss_email, _ = person(stack, admin=True)
        demoted, boss = signed_in(stack, email), signed_in(stack, boss_email)
        assert demoted.get("/admin/users").status_code == 200
        csrf, boss_csrf = token(demoted), token(boss)
        start = threading.Barrier(BUSY_THREADS + 1)
        with ThreadPoolExecutor(BUSY_THREADS) as pool:
            busy = [pool.submit(keep_busy, demoted, csrf, start) for _ in range(BUSY_THREADS)]
            start.wait()
            answer = boss.post(f"/admin/users/{email}/demote", data={"csrf_token": boss_csrf})
            assert answer.status_code == 302
            [future.result() for future in busy]
        console = demoted.get("/admin/users")
        assert console.status_code == 302 and "/auth/login" in console.headers["Location"]


def test_two_admins_demoting_each_other_at_once_always_leave_an_admin(stack):
    cognito = stack.client("cognito-idp")
    for _ in range(ROUNDS * 2):
        first, second = person(stack, admin=True), person(stack, admin=True)
        # only these two are admins for the round: the seed admin steps out
        for member in cognito.list_users_in_group(UserPoolId=stack.pool_id, GroupName="admin")["Users"]:
            if member["Username"] not in (first[1], second[1]):
                cognito.admin_remove_user_from_group(
                    UserPoolId=stack.pool_id, Username=member["Username"], GroupName="admin"
                )
        one, two = signed_in(stack, first[0]), signed_in(stack, second[0])
        tokens = token(one), token(two)
        start = threading.Barrier(2)

        def demote(visitor: Visitor, csrf: str, target: str, start: threading.Barrier = start) -> int:
            start.wait()
            return visitor.post(f"/admin/users/{target}/demote", data={"csrf_token": csrf}).status_code

        with ThreadPoolExecutor(2) as pool:
            answers = [
                pool.submit(demote, one, tokens[0], second[0]),
                pool.submit(demote, two, tokens[1], first[0]),
            ]
            assert [future.result() for future in answers] == [302, 302]
        left = cognito.list_users_in_group(UserPoolId=stack.pool_id, GroupName="admin")["Users"]
        assert len(left) == 1, "the admin group must never end up empty"
    cognito.admin_add_user_to_group(UserPoolId=stack.pool_id, Username="admin@example.com", GroupName="admin")
