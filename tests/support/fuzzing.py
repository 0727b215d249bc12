"""The harness of the property tests (tests/security/test_*_fuzzing.py): hypothesis settings, hostile text,
forms that are valid but for one or two hostile fields, tampered signed tokens, and the signed ids the app's
forms carry.

Every property runs against the module's stack (tests/security/conftest.py's ``stack``, built by
tests/support/stack.py's ``running_stack``); hypothesis is derandomized and keeps no example database, so
every run tries the same examples.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer

from tests.support.forms import ADMIN, USER
from tests.support.sending import received
from tests.support.stack import Stack


def fuzz(examples: int) -> settings:
    """Reproducible (derandomized, no example database) and bounded, with no per-example deadline. No
    shrinking: the app's state grows with every example, so shrinking a failure can take minutes; the
    failing example is reported as drawn."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


ROLES = ["user", "admin"]
EMAILS = {"user": USER, "admin": ADMIN}


def client_of(stack: Stack, role: str) -> Any:
    return getattr(stack, role)


# Strategies: hostile text, and forms that are valid but for one or two hostile fields

ANY_CHAR = st.characters(exclude_categories=())  # every code point, lone surrogates included
TEXT_CHAR = st.characters(codec="utf-8")  # every code point a browser can send
CONTROL = st.characters(max_codepoint=0x1F) | st.characters(min_codepoint=0x7F, max_codepoint=0x9F)
# What the forms trim around a text (webapp/forms.py, restated): white space as str.isspace has it, and byte-order
# marks
UNSEEN = "".join(chr(code) for code in range(0x3001) if chr(code).isspace()) + "\ufeff"


def trim(text: str) -> str:
    return text.strip(UNSEEN)


HOSTILE_STRINGS = (
    "",
    " ",
    "\t\r\n",
    "\x00",
    "a\x00b",
    "\r",
    "\x1b[31mred",
    "\u202eevil\u202c",
    "\ufeff",
    "\u200b",
    "\ud800",
    "a\udfffb",
    "\U0001f4a9",
    "İSTANBUL",
    "ß",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}",
    "{% raw %}",
    "${jndi:ldap://x/a}",
    "' OR '1'='1",
    "%s%s%n",
    "%00",
    "%ED%A0%80",
    "../../etc/passwd",
    "NaN",
    "-nan",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "1e400",
    "-1e400",
    "1e-400",
    "-0",
    "-0.00",
    "0e999999999",
    "1E+999999999",
    "9" * 400,
    "0.001",
    "1_000",
    "0x1F",
    "1,000.50",
    "١٢٣",
    "\uff11\uff12",
    "  7.5  ",
    "0000-00-00",
    "2027-02-30",
    "2027-13-01",
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "-2027-01-01",
    "2027-1-1",
    "\uff12\uff10\uff12\uff17-\uff10\uff11-\uff13\uff11",
    " 2027-01-31",
    "0",
    "-1",
    "1" * 20,
    "²",
    "4294967296",
    "+447700900123",
    "+1\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669",
    "+44 7700 900123",
    "+0123456789",
    "user@example.com",
    "admin@example.com",
    "A@EXAMPLE.COM",
    'a"b@example.com',
    "a\\b@example.com",
    "o'brien@example.com",
    "a\nb@example.com",
    "a@b.c\x00om",
    "x@" + "\U0001d518" * 249 + ".co",
    "x" * 10_000,
    "é" * 5_000,
    "\U0001f600" * 2_000,
)

long_strings = st.builds(
    lambda part, times: part * times, st.text(ANY_CHAR, min_size=1, max_size=3), st.integers(40, 3000)
)
hostile = st.one_of(
    st.sampled_from(HOSTILE_STRINGS), st.text(ANY_CHAR, max_size=30), st.text(CONTROL, max_size=8), long_strings
)
# Addresses at the 254-byte limit and beyond it, in characters that take 4 bytes each
long_emails = st.integers(60, 252).map(lambda length: "x@" + "\U0001d518" * length + ".co")


SPLICED = ["\n", "\r", "\x00", "\x7f", '"', "\\", "\u2028", "\ufeff", "\ud800", "\u0660"]  # \u0660: a digit, to \d


def spliced(good: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A good value with one hostile character put somewhere inside it (a newline in an email, NUL in a date)."""
    return st.builds(
        lambda text, char, at: text[: at % (len(text) + 1)] + char + text[at % (len(text) + 1) :],
        good,
        st.booleans().flatmap(lambda listed: st.sampled_from(SPLICED) if not listed else CONTROL | ANY_CHAR),
        st.integers(1, 300),  # not in front: a leading control character is often stripped
    )


Field = tuple[st.SearchStrategy[str], st.SearchStrategy[str] | None]  # (good values, hostile ones or the default)


@st.composite
def forms(draw: Any, fields: dict[str, Field], most: int = 2, omit: bool = False) -> dict[str, tuple[str | None, bool]]:
    """{name: (value, known good)}: every field good but (mostly) one, or none, or up to ``most``, which are
    hostile (by default hostile text or a good value with a hostile character inside) or, with ``omit``,
    sometimes not sent at all (None)."""
    form = {name: (draw(good), True) for name, (good, _) in fields.items()}
    count = min(draw(st.sampled_from([1, 1, 1, 0, 2, 3])), most, len(fields))
    for name in draw(st.lists(st.sampled_from(sorted(fields)), min_size=count, max_size=count, unique=True)):
        good, bad = fields[name]
        bad = bad if bad is not None else spliced(good) | hostile
        left_out = omit and draw(st.sampled_from([False, False, False, True]))
        form[name] = (None if left_out else draw(bad), False)
    return form


def sent_of(form: dict[str, tuple[str | None, bool]]) -> dict[str, str]:
    """What to post: the fields that are sent."""
    return {name: value for name, (value, _) in form.items() if value is not None}


def got_of(form: dict[str, tuple[str | None, bool]]) -> dict[str, str | None]:
    """What the app reads: each field as Werkzeug decodes it (None: not sent)."""
    return {name: None if value is None else received(value) for name, (value, _) in form.items()}


def all_good(form: dict[str, tuple[str | None, bool]]) -> bool:
    return all(good for _, good in form.values())


def tampered_tokens(valid: str) -> st.SearchStrategy[str]:
    """A signed token changed the ways an attacker would: one character, cut short, extended, unsigned."""
    return st.one_of(
        st.integers(0, len(valid) - 1).flatmap(
            lambda at: st.sampled_from("AZaz09-_.").map(lambda char: valid[:at] + char + valid[at + 1 :])
        ),
        st.integers(0, len(valid) - 1).map(lambda at: valid[:at]),
        st.text(ANY_CHAR, min_size=1, max_size=5).map(lambda tail: valid + tail),
        st.just(valid.split(".")[0]),
        st.just(valid.replace(".", "..", 1)),
        hostile,
    )


def a_token(make: Any) -> Field:
    """A fresh signed token as the good value; tampered ones, or ones signed with a guessed key, as bad."""
    guessed = URLSafeSerializer("guessed-secret", salt="anything").dumps(str(uuid.uuid4()))
    return st.builds(make), st.one_of(st.builds(make).flatmap(tampered_tokens), st.just(guessed))


good_email = st.one_of(
    st.from_regex(r"[a-z0-9._%+-]{1,20}@[a-z0-9-]{1,20}\.[a-z]{2,6}", fullmatch=True),
    st.emails().filter(lambda email: len(email.split("@")[0]) <= 64 and len(email) <= 200),
)
email_field: Field = (good_email, st.one_of(spliced(good_email), long_emails, hostile))
ascii_phone = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
OTHER_DIGITS = [
    "\u0660",
    "\u06f5",
    "\u0966",
    "\u09ea",
    "\u0bed",
    "\u0e59",
    "\uff10",
    "\uff19",
    "\U0001d7d7",
]  # \d, not 0-9
lookalike_phones = st.builds(
    lambda phone, digit, at: phone[:at] + digit + phone[at + 1 :],
    ascii_phone,
    st.sampled_from(OTHER_DIGITS),
    st.integers(2, 7),
)
phone_field: Field = (ascii_phone, st.one_of(lookalike_phones, spliced(ascii_phone), hostile))
E164 = re.compile(r"\+[1-9][0-9]{6,14}", re.ASCII)


# The signed ids the create and send forms carry


def submission(stack: Stack, role: str, record_id: str | None = None) -> str:
    """The signed id a create form carries (what GET /records/new puts in it)."""
    sub = stack.subs[EMAILS[role]]
    serializer = URLSafeSerializer(stack.app.secret_key, salt="record-submission")
    return serializer.dumps([record_id or str(uuid.uuid4()), sub])


def send_id(stack: Stack) -> str:
    """The signed, single-use id a send form carries."""
    return URLSafeSerializer(stack.app.secret_key, salt="notification-send").dumps(str(uuid.uuid4()))


def send_id_valid(stack: Stack, token: str | None) -> bool:
    try:
        value = URLSafeSerializer(stack.app.secret_key, salt="notification-send").loads(received(token))
        return str(uuid.UUID(value)) == value
    except Exception:
        return False
