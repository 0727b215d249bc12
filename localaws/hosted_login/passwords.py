"""The pool's password policy as Cognito applies it: read from the pool (DescribeUserPool's
``Policies.PasswordPolicy``), said in words beside every field that sets a password, and the first rule a password
breaks named in Cognito's words ("Password did not conform with policy: Password not long enough").

moto checks the policy too, but its refusal names no rule ("does not confirm to the configured password
policy"), and it counts a password of 99 characters or more as breaking it; Cognito takes up to 256.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass

# Cognito's special characters; a space counts too, when it is neither the first character nor the last.
SYMBOLS = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- "
MAX_LENGTH = 256
NOT_CONFORMING = "Password did not conform with policy: "
# What Cognito's API answers (InvalidParameterException) for a password with a space at either end, or too long.
EDGE_SPACE = (
    "1 validation error detected: Value at 'password' failed to satisfy constraint: "
    r"Member must satisfy regular expression pattern: ^[\S]+.*[\S]+$"
)
TOO_LONG = (
    "1 validation error detected: Value at 'password' failed to satisfy constraint: "
    f"Member must have length less than or equal to {MAX_LENGTH}"
)


@dataclass(frozen=True)
class Policy:
    """A pool's password policy; the defaults are Cognito's for a pool created without one."""

    minimum_length: int = 8
    uppercase: bool = True
    lowercase: bool = True
    numbers: bool = True
    symbols: bool = True

    @classmethod
    def of(cls, pool: dict) -> Policy:
        """The policy of a pool as DescribeUserPool (or moto's own model of the pool) gives it."""
        given = pool.get("Policies", {}).get("PasswordPolicy", {})
        return cls(
            minimum_length=int(given.get("MinimumLength", 8)),
            uppercase=bool(given.get("RequireUppercase", True)),
            lowercase=bool(given.get("RequireLowercase", True)),
            numbers=bool(given.get("RequireNumbers", True)),
            symbols=bool(given.get("RequireSymbols", True)),
        )

    def rules(self) -> list[tuple[str, str, Callable[[str], bool]]]:
        """Each rule in force: what it asks for in words, Cognito's words when it is broken, and its check."""
        every = (
            (f"at least {self.minimum_length} characters", "Password not long enough", True, self._long_enough),
            ("an upper-case letter", "Password must have uppercase characters", self.uppercase, _has("[A-Z]")),
            ("a lower-case letter", "Password must have lowercase characters", self.lowercase, _has("[a-z]")),
            ("a number", "Password must have numeric characters", self.numbers, _has("[0-9]")),
            ("a special character, such as ! or %", "Password must have symbol characters", self.symbols, _symbol),
        )
        return [(words, broken, check) for words, broken, required, check in every if required]

    def described(self) -> str:
        """The policy as one sentence, for the help text under a new password's field."""
        asks = [words for words, _, _ in self.rules()]
        listed = asks[0] if len(asks) == 1 else ", ".join(asks[:-1]) + " and " + asks[-1]
        return f"Your password needs {listed}."

    def refusal(self, password: str) -> str | None:
        """Cognito's words for the first rule ``password`` breaks, or None when it keeps them all."""
        if len(password) > MAX_LENGTH:
            return TOO_LONG
        if password != password.strip(" "):
            return EDGE_SPACE
        broken = [message for _, message, check in self.rules() if not check(password)]
        return NOT_CONFORMING + broken[0] if broken else None

    def _long_enough(self, password: str) -> bool:
        return len(password) >= self.minimum_length

    def temporary_password(self) -> str:
        """A password Cognito could have made for an invitation: random, and keeping every rule of the policy."""
        alphabet = string.ascii_letters + string.digits + "!#%+-=?@^_"
        while True:
            made = "".join(secrets.choice(alphabet) for _ in range(max(self.minimum_length, 12)))
            if self.refusal(made) is None:
                return made


def _has(pattern: str) -> Callable[[str], bool]:
    return lambda password: re.search(pattern, password) is not None


def _symbol(password: str) -> bool:
    return any(character in SYMBOLS for character in password)
