"""How many text messages an SMS takes (webapp/notifications/segments.py): GSM-7 160 or 153 per part, UCS-2 70 or
67 per part, two-place characters never split. The browser's script counts the same (tests/browser)."""

import pytest

from webapp.notifications.segments import GSM_BASIC, GSM_EXTENSION, segments


@pytest.mark.parametrize(
    ("text", "encoding", "units", "count"),
    [
        ("", "GSM-7", 0, 0),
        ("a", "GSM-7", 1, 1),
        ("x" * 160, "GSM-7", 160, 1),
        ("x" * 161, "GSM-7", 161, 2),
        ("x" * 306, "GSM-7", 306, 2),
        ("x" * 307, "GSM-7", 307, 3),
        ("é" * 160, "GSM-7", 160, 1),  # é, à, ñ, ü and friends are in the GSM alphabet
        ("€" * 80, "GSM-7", 160, 1),  # an extension character takes two places
        ("€" * 81, "GSM-7", 162, 2),
        ("x" * 69 + "ç", "UCS-2", 70, 1),  # ç (lower case) is not in the GSM alphabet, Ç is
        ("x" * 70 + "ç", "UCS-2", 71, 2),
        ("ç" * 134, "UCS-2", 134, 2),
        ("ç" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two places each
        ("😀" * 36, "UCS-2", 72, 2),
    ],
)
def test_the_encoding_the_places_and_the_messages_a_text_takes(text, encoding, units, count):
    found = segments(text)
    assert (found.encoding, found.units, found.count, found.characters) == (encoding, units, count, len(text))


def test_an_extension_character_is_never_split_across_two_parts():
    # 152 plain characters, then "€" (2 places) would reach 154 in a 153-place part: it starts the next part
    assert segments("x" * 152 + "€").count == 1  # 154 places: one message holds 160
    assert segments("x" * 152 + "€" + "x" * 152).count == 3  # 152 | € + 151 | 1
    assert segments("x" * 151 + "€" + "x" * 153).count == 2  # 153 | 153


def test_a_character_outside_the_bmp_is_never_split_across_two_parts():
    assert segments("x" * 66 + "😀" + "x" * 66).count == 3  # 66 | 😀 + 65 | 1
    assert segments("x" * 65 + "😀" + "x" * 67).count == 2  # 67 | 67


def test_one_character_outside_the_gsm_alphabet_makes_the_whole_text_ucs_2():
    assert segments("x" * 100).count == 1
    assert segments("x" * 100 + "\u2019").count == 2  # a typographic apostrophe, as phones type it


def test_the_alphabets_are_the_gsm_03_38_tables():
    assert len(GSM_BASIC) == 127  # 128 code points less the escape to the extension table
    assert set(GSM_EXTENSION) == set("^{}\\[~]|€\f")
    assert GSM_BASIC.isdisjoint(GSM_EXTENSION)


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        ("", "0 characters"),
        ("a", "1 character · 1 text message"),
        ("x" * 161, "161 characters · 2 text messages of up to 153 (GSM-7)"),
        ("ç" * 71, "71 characters · 2 text messages of up to 67 (UCS-2)"),
    ],
)
def test_the_sentence_the_pages_show(text, summary):
    assert segments(text).summary == summary
