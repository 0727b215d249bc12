"""Saves that cross: the edit form carries the values it was opened with, so a save on a stale version applies
only what this user changed (a three-way merge); only a field both changed needs a decision."""

import re

from tests.support.forms import hidden
from tests.support.records import create

GOOD = {
    "title": "Quarterly invoice",
    "status": "open",
    "amount": "1500.00",
    "due": "2027-01-31",
    "notes": "Check totals",
    "tags": "finance",
}


def opened(client, record_id: str) -> dict:
    """The edit form as a browser submits it: every field as shown, the version and the opened-with values."""
    page = client.get(f"/records/{record_id}/edit").get_data(as_text=True)
    form = {name: hidden(page, name) for name in ("csrf_token", "version", "base")}
    assert form["base"], "the edit form carries the values it was opened with"
    return form | GOOD


def shown(client, record_id: str, field: str) -> str:
    """A field's value as the record's page shows it (its text, without the markup around it)."""
    page = client.get(f"/records/{record_id}").get_data(as_text=True)
    cell = re.search(rf'data-testid="value-{field}">(.*?)</dd>', page, re.DOTALL).group(1)
    return re.sub(r"<[^>]+>", "", cell).strip()


def test_a_stale_save_that_changed_other_fields_keeps_both_changes_and_says_so(user, admin):
    record_id = create(user, GOOD)
    tab_b = opened(user, record_id)  # opened first, saved last
    tab_a = opened(admin, record_id)
    assert admin.post(f"/records/{record_id}/edit", data=tab_a | {"amount": "1600.00"}).status_code == 302
    saved = user.post(f"/records/{record_id}/edit", data=tab_b | {"title": "Renamed"}, follow_redirects=True)
    assert saved.status_code == 200
    page = saved.get_data(as_text=True)
    assert "Amount changed elsewhere while you were editing: that change is kept with yours." in page
    assert shown(user, record_id, "title") == "Renamed"
    assert shown(user, record_id, "amount") == "1,600.00"  # was put back to 1,500.00 by the stale form
    assert shown(user, record_id, "version") == "3"


def test_the_history_shows_what_each_save_really_changed(user, admin):
    record_id = create(user, GOOD)
    tab_b = opened(user, record_id)
    admin.post(f"/records/{record_id}/edit", data=opened(admin, record_id) | {"amount": "1600.00"})
    user.post(f"/records/{record_id}/edit", data=tab_b | {"title": "Renamed"})
    page = user.get(f"/records/{record_id}/history").get_data(as_text=True)
    merged, theirs = page.split('<li class="border-start')[1:3]  # newest first
    assert "Title: <del>Quarterly invoice</del> → <ins>Renamed</ins>" in merged and "Amount" not in merged
    assert "Amount: <del>1,500.00</del> → <ins>1,600.00</ins>" in theirs and "Title" not in theirs


def test_a_field_changed_on_both_sides_asks_and_labels_every_row(user, admin):
    record_id = create(user, GOOD)
    tab_b = opened(user, record_id)
    tab_a = opened(admin, record_id) | {"title": "Their title", "amount": "1600.00"}
    admin.post(f"/records/{record_id}/edit", data=tab_a)
    conflict = user.post(f"/records/{record_id}/edit", data=tab_b | {"title": "My title", "notes": "Mine"})
    assert conflict.status_code == 409
    html = conflict.get_data(as_text=True)
    assert re.search(r'data-testid="who-title">.*Both changed', html)
    assert re.search(r'data-testid="who-amount">.*They changed', html)
    assert re.search(r'data-testid="who-notes">.*You changed', html)
    assert re.search(r'data-testid="who-status">\s*</td>', html)
    assert 'data-testid="opened-title">Quarterly invoice<' in html
    assert 'data-testid="opened-amount">1,500.00<' in html
    # "Save mine on top" sends mine for the field both changed (the choice offered first), theirs elsewhere
    form = {name: value for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}
    title = re.search(r'name="title" value="([^"]*)" checked', html).group(1)
    assert user.post(f"/records/{record_id}/edit", data=form | {"title": title}).status_code == 302
    assert shown(user, record_id, "title") == "My title"
    assert shown(user, record_id, "amount") == "1,600.00"
    assert shown(user, record_id, "notes") == "Mine"


def test_choosing_theirs_for_a_field_both_changed_keeps_theirs(user, admin):
    record_id = create(user, GOOD)
    tab_b = opened(user, record_id)
    admin.post(f"/records/{record_id}/edit", data=opened(admin, record_id) | {"title": "Their title"})
    html = user.post(f"/records/{record_id}/edit", data=tab_b | {"title": "My title"}).get_data(as_text=True)
    form = {name: value for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}
    assert user.post(f"/records/{record_id}/edit", data=form | {"title": "Their title"}).status_code == 302
    assert shown(user, record_id, "title") == "Their title"


def test_the_same_change_made_on_both_sides_is_no_conflict(user, admin):
    record_id = create(user, GOOD)
    tab_b = opened(user, record_id)
    admin.post(f"/records/{record_id}/edit", data=opened(admin, record_id) | {"status": "done"})
    assert user.post(f"/records/{record_id}/edit", data=tab_b | {"status": "done"}).status_code == 302


def test_a_forged_opened_with_value_is_refused(user):
    record_id = create(user, GOOD)
    form = opened(user, record_id) | {"base": "forged"}
    assert user.post(f"/records/{record_id}/edit", data=form).status_code == 400


def test_an_opened_with_value_of_another_record_is_refused(user):
    first, second = create(user, GOOD), create(user, GOOD)
    form = opened(user, first)
    assert user.post(f"/records/{second}/edit", data=form | {"version": "1"}).status_code == 400
