"""The admin console's API clients: machine clients for integrations (list, create with the secret shown once,
delete after asking). Admins only (403 otherwise). The rules, Cognito's calls and the audit are in
``webapp.services.clients``; these views read the request and say what happened.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from webapp import paging
from webapp.auth.guards import admin_required
from webapp.clients import bp
from webapp.clients.forms import ClientForm
from webapp.cognito import CognitoError
from webapp.forms import first_errors
from webapp.services import clients


@bp.before_request
@admin_required
def only_admins() -> None:
    """Every page of the group is for admins: one rule for all of them, checked before any view runs."""


def load(client_id: str) -> clients.ApiClient:
    """The machine client, or a 404 for an id that is malformed, unknown, or not a client made here."""
    found = clients.get(client_id)
    if found is None:
        abort(404)
    return found


def form_page(form: ClientForm, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    values = {"name": form.name.data or "", "scopes": form.scopes.data or []}
    page = render_template("clients/new.html", values=values, errors=errors or {}, scopes=clients.scope_names())
    return page, status


@bp.get("")
def index() -> str:
    """The machine clients, a page at a time: Cognito's page token travels in a signed cursor."""
    filters = paging.fingerprint("api-clients")
    cursor = paging.cursor_from_request(filters)
    try:
        shown, following = clients.page(cursor.key if cursor else None)
    except CognitoError as error:
        if error.code == "InvalidParameterException" and cursor:
            abort(400, description="This page link has expired. Start again from the first page.")
        raise
    next_url = url_for(".index", cursor=paging.encode(following, False, filters)) if following else ""
    return render_template("clients/index.html", clients=shown, next_url=next_url)


@bp.route("/new", methods=["GET", "POST"])
def create() -> Any:
    """Name a client and choose its scopes; the answer shows its secret, this once, and is never cached."""
    form = ClientForm()
    if request.method == "GET":
        return form_page(form)
    if not form.validate():
        return form_page(form, first_errors(form), 422)
    try:
        created = clients.create(current_user.actor, form.name.data, form.scopes.data)
    except clients.ClientRefused as refused:
        return form_page(form, {"form": refused.message}, refused.status)
    token_url = f"{current_app.config['COGNITO_DOMAIN']}/oauth2/token"
    answer = make_response(render_template("clients/created.html", created=created, token_url=token_url))
    answer.headers["Cache-Control"] = "no-store"
    return answer


@bp.get("/<client_id>/delete")
def confirm_delete(client_id: str) -> str:
    """Deleting a client cannot be undone, and whatever uses it stops working: ask first."""
    return render_template("clients/delete.html", client=load(client_id))


@bp.post("/<client_id>/delete")
def delete(client_id: str) -> Response:
    """Delete the client (its tokens are refused from now on) and go back to the list."""
    client = clients.get(client_id)
    if client is None:  # a double click, or another admin was quicker
        flash("That API client no longer exists.", "warning")
        return redirect(url_for(".index"))
    try:
        clients.delete(current_user.actor, client)
    except clients.ClientRefused as refused:
        flash(refused.message, "error")
        return redirect(url_for(".confirm_delete", client_id=client_id))
    flash(f"Deleted the API client {client.name}: its tokens are refused from now on.", "success")
    return redirect(url_for(".index"))
