"""Security properties of the whole app: authorization for every route, CSRF, side effects."""
