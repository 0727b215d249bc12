"""The tools run against the local stack, cheaply: README's screenshots script (one page) and the Lighthouse audit
(the landing page; `make lighthouse` audits all four pages of issue 19, which takes longer than a test should)."""

import struct

from tools import lighthouse, screenshots


def png_size(path):
    """Width and height from a PNG's header."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_the_screenshot_script_captures_a_page_in_both_themes_at_desktop_and_phone_width(browser, stack, tmp_path):
    users = next(shot for shot in screenshots.SHOTS if shot.name == "users")  # the admin's: a second sign-in
    written = screenshots.capture(browser, stack.app_url, tmp_path, (users,))
    assert sorted(path.name for path in written) == [
        "users-dark-desktop.png",
        "users-dark-phone.png",
        "users-light-desktop.png",
        "users-light-phone.png",
    ]
    assert png_size(tmp_path / "users-light-phone.png") == (390, 844)
    assert png_size(tmp_path / "users-dark-desktop.png") == (1280, 800)
    light, dark = (tmp_path / f"users-{theme}-desktop.png" for theme in ("light", "dark"))
    assert light.read_bytes() != dark.read_bytes()  # the system's dark scheme reached the page


def test_lighthouse_scores_the_landing_page_at_least_095_for_accessibility_and_best_practices(stack):
    [result] = lighthouse.audit(stack.app_url, stack.login_url, (lighthouse.PAGES[0],))
    assert result["url"] == f"{stack.app_url}/"
    assert min(result["scores"].values()) >= lighthouse.MINIMUM, lighthouse.report([result])
