"""The local stack's tests: tokens from the hosted-login stand-in (``token_source``)."""

from __future__ import annotations

import pytest

from tests.localaws.token_source import TokenSource


@pytest.fixture
def tokens(hosted_login, aws, accounts) -> TokenSource:
    """Tokens from the stand-in for the emulated account, with the seed accounts in it."""
    return TokenSource(hosted_login["COGNITO_DOMAIN"], aws)
