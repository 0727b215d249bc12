"""How many text messages (segments) an SMS takes: the rule SNS and the phone networks apply, in one place.

A text that fits the GSM 03.38 alphabet goes as GSM-7: 160 characters in one message, 153 per part once it is
split (each part carries a 7-character header). Its extension characters (``^ { } [ ] ~ | € \\`` and the form
feed) take two places, and one is never split across two parts. Any other character makes the whole text
UCS-2: 70 in one message, 67 per part; a character outside the Basic Multilingual Plane (most emoji) takes two
places, never split either.

static/js/sms-length.js counts the same way in the browser, as the person types; the server's pages show what
this module says (tests/unit/test_segments.py; the browser journey checks the script agrees).
"""

from __future__ import annotations

from dataclasses import dataclass

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")
LIMITS = {"GSM-7": (160, 153), "UCS-2": (70, 67)}  # one message, each part of a longer one


@dataclass(frozen=True)
class Segments:
    """What a text costs: its ``encoding``, the places it takes (``units``), the ``count`` of messages it is
    sent as, and how many places each holds (``per_message``)."""

    characters: int
    encoding: str
    units: int
    count: int
    per_message: int

    @property
    def summary(self) -> str:
        """The sentence the compose page and the previews show (the script writes the same one)."""
        characters = f"{self.characters} character{'s' if self.characters != 1 else ''}"
        if self.count == 0:
            return characters
        if self.count == 1:
            return f"{characters} · 1 text message"
        return f"{characters} · {self.count} text messages of up to {self.per_message} ({self.encoding})"


def _places(text: str, encoding: str) -> list[int]:
    """The places each character takes in that encoding."""
    if encoding == "GSM-7":
        return [2 if char in GSM_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def segments(text: str) -> Segments:
    """How ``text`` is sent as SMS (an empty text is no message at all)."""
    encoding = "GSM-7" if all(char in GSM_BASIC or char in GSM_EXTENSION for char in text) else "UCS-2"
    single, part = LIMITS[encoding]
    places = _places(text, encoding)
    units = sum(places)
    if units <= single:
        return Segments(len(text), encoding, units, 1 if text else 0, single)
    count, used = 1, 0
    for size in places:  # a two-place character never straddles two parts
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return Segments(len(text), encoding, units, count, part)
