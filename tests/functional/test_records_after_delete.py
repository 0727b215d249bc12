"""What a deleted record leaves behind: nothing of it through an old link, and no dead link on the dashboard."""

import re

from tests.support.forms import hidden
from tests.support.records import create, delete_form

GOOD = {"title": "Kept", "status": "open", "amount": "1.00", "due": "", "notes": "", "tags": ""}


def edit(client, record_id: str, **changes) -> None:
    page = client.get(f"/records/{record_id}/edit").get_data(as_text=True)
    form = {name: hidden(page, name) for name in ("csrf_token", "version", "base")} | GOOD | changes
    assert client.post(f"/records/{record_id}/edit", data=form).status_code == 302


def delete(client, record_id: str) -> None:
    assert client.post(f"/records/{record_id}/delete", data=delete_form(client, record_id)).status_code == 302


def test_a_saved_older_history_link_shows_nothing_of_a_deleted_record_to_its_owner(user, admin):
    record_id = create(user, GOOD, title="Secret plan")
    for n in range(21):  # one more than a history page holds
        edit(user, record_id, notes=f"Draft {n}")
    first = user.get(f"/records/{record_id}/history").get_data(as_text=True)
    older = re.search(r'href="([^"]*cursor=[^"]*)"', first).group(1).replace("&amp;", "&")
    assert "Secret plan" in user.get(older).get_data(as_text=True)
    delete(user, record_id)
    assert user.get(older).status_code == 404  # the link saved before the delete
    assert user.get(f"/records/{record_id}/history").status_code == 404
    assert admin.get(older).status_code == 200  # an admin still sees it, to restore it


def test_the_dashboard_names_a_record_by_its_title_now_and_links_only_what_exists(user):
    renamed = create(user, GOOD, title="Old name")
    edit(user, renamed, title="New name")
    gone = create(user, GOOD, title="Gone soon")
    delete(user, gone)
    activity = user.get("/").get_data(as_text=True)
    activity = activity[activity.index('data-testid="activity"') :]
    links = re.findall(r'<a href="/records/([^"]+)">([^<]*)</a>', activity)
    assert (renamed, "New name") in links and all(title != "Old name" for _, title in links)
    assert all(record_id != gone for record_id, _ in links)  # it was linked, and the link was a 404
    assert "“Gone soon”" in activity and "deleted" in activity
