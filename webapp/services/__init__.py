"""The service layer: the app's domain operations, shared by the pages, the API and the event handlers.

Each function takes the acting user (``webapp.actors.Actor``) and plain input, and returns plain values or
raises the app's own errors. Nothing here knows a Flask request, a form, a flash message or a template; the
adapters it calls (``webapp.records.store``, ``webapp.cognito``, ``webapp.sns``, ...) are reached through the
app context, like flaskr's ``get_db()``.
"""
