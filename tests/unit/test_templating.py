"""`when`: every moment the pages show, as one <time> element in UTC (static/js/times.js takes it from there)."""

import datetime as dt

import pytest

from webapp.templating import when

EXPECTED = '<time datetime="2026-11-26T17:36:12Z" data-when>2026-11-26 17:36 UTC</time>'


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-26T17:36:12.123456+00:00",  # what DynamoDB items hold (dynamodb.now_iso)
        "2026-11-26T17:36:12Z",
        "2026-11-26T18:36:12+01:00",  # another offset: the same moment
        1795714572,  # a Unix time (sessions)
        1795714572.9,
        dt.datetime(2026, 11, 26, 17, 36, 12, tzinfo=dt.UTC),  # Cognito's
        dt.datetime(2026, 11, 26, 17, 36, 12),  # naive: UTC
    ],
)
def test_every_kind_of_moment_the_app_stores_is_one_time_element_in_utc(value):
    assert str(when(value)) == EXPECTED


@pytest.mark.parametrize("value", [None, "", 0, "not a time", "2026-13-45", True, object()])
def test_nothing_or_nonsense_shows_nothing(value):
    assert str(when(value)) == ""


def test_the_markup_is_escaped_where_it_comes_from_data():
    assert "<script>" not in str(when("<script>alert(1)</script>"))
