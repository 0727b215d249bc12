"""The one module-level app object: serverless-wsgi's entry point on Lambda and the WSGI app locally."""

from webapp import create_app

app = create_app()
