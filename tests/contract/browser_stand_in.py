"""A browser for README's sign-in script, run as ``browser_stand_in.py EMAIL PASSWORD URL``: it opens the
hosted login's authorize URL, signs in with the form as a person does, and follows the redirect back to the
script's listener on localhost. (Python's webbrowser runs the command named by BROWSER.)"""

from __future__ import annotations

import sys
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests

TIMEOUT = 30


def sign_in(email: str, password: str, authorize_url: str) -> None:
    with requests.Session() as browser:
        answer = browser.get(authorize_url, allow_redirects=False, timeout=TIMEOUT)
        assert answer.status_code == 302, (answer.status_code, answer.text)
        login_page = urljoin(authorize_url, answer.headers["Location"])  # the sign-in form, with the request
        form = dict(parse_qsl(urlsplit(login_page).query)) | {"username": email, "password": password}
        signed_in = browser.post(urljoin(login_page, "/login"), data=form, allow_redirects=False, timeout=TIMEOUT)
        assert signed_in.status_code == 302, (signed_in.status_code, signed_in.text)
        back = browser.get(signed_in.headers["Location"], timeout=TIMEOUT)  # to the script's callback
        print(back.status_code, back.text)


if __name__ == "__main__":
    sign_in(*sys.argv[1:4])
