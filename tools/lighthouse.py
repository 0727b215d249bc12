"""`python -m tools.lighthouse` (`make lighthouse`): Lighthouse's accessibility and best-practices scores of the
landing page, the records list, a record and the users page, against the local stack.

Starts the local stack (`python -m localaws`) on free ports, signs the seed user and the seed admin in through the
hosted login over HTTP, and runs Lighthouse (npm, package.json) in one headless Debian Chromium through its Node
API (tools/lighthouse.mjs), each signed-in page with its session cookie. Prints each page's scores and the audits
that failed; exits 1 when a score is under ``--min`` (0.95, issue 19's bar).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from tests.support.chromium import CHROMIUM, CHROMIUM_FLAGS
from tools.screenshots import RECORD_PATH, ROOT, SEED_ADMIN, SEED_USER

RUNNER = ROOT / "tools" / "lighthouse.mjs"
MINIMUM = 0.95
TIMEOUT = 30  # seconds for one HTTP request of the sign-in


@dataclass(frozen=True)
class Page:
    """A page to audit: its name, its path, and who looks at it (``None``: an anonymous visitor)."""

    name: str
    path: str
    account: tuple[str, str] | None


PAGES = (
    Page("landing", "/", None),
    Page("records", "/records", SEED_USER),
    Page("record", "", SEED_USER),  # the first record the list links to
    Page("users", "/admin/users", SEED_ADMIN),
)


def session_cookie(app_url: str, login_url: str, account: tuple[str, str]) -> tuple[str, str]:
    """Sign in through the hosted login over HTTP as a browser would; the ``Cookie`` header of the signed-in
    session, and the records list's HTML (for a record to audit)."""
    import requests

    with requests.Session() as app, requests.Session() as login_site:
        start = app.get(f"{app_url}/auth/login", allow_redirects=False, timeout=TIMEOUT)
        params = dict(parse_qsl(urlsplit(start.headers["Location"]).query))
        form = params | {"username": account[0], "password": account[1]}
        answer = login_site.post(f"{login_url}/login", data=form, allow_redirects=False, timeout=TIMEOUT)
        back = urlsplit(answer.headers["Location"])
        app.get(f"{app_url}{back.path}?{back.query}", allow_redirects=False, timeout=TIMEOUT)
        listing = app.get(f"{app_url}/records", allow_redirects=False, timeout=TIMEOUT).text
        return f"sid={app.cookies['sid']}", listing


def audit(app_url: str, login_url: str, pages: tuple[Page, ...] = PAGES) -> list[dict]:
    """Lighthouse's results for ``pages``: name, url, scores by category, failed audits."""
    signed: dict[tuple[str, str], tuple[str, str]] = {}
    jobs = []
    for page in pages:
        cookie, path = "", page.path
        if page.account:
            signed.setdefault(page.account, session_cookie(app_url, login_url, page.account))
            cookie, listing = signed[page.account]
            path = path or next(href for href in re.findall(r'href="([^"]+)"', listing) if RECORD_PATH.match(href))
        jobs.append({"name": page.name, "url": f"{app_url}{path}", "cookie": cookie})
    flags = ["--headless=new", *CHROMIUM_FLAGS]
    request = json.dumps({"chromePath": CHROMIUM, "chromeFlags": flags, "pages": jobs})
    node = shutil.which("node") or "node"
    done = subprocess.run(  # noqa: S603 (node and a script of ours)
        [node, str(RUNNER)], input=request, capture_output=True, text=True, check=False, cwd=ROOT, timeout=300
    )
    if done.returncode:
        raise RuntimeError(f"Lighthouse failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout)


def report(results: list[dict]) -> str:
    """One line per page with its scores, then the audits that failed under it."""
    lines = []
    for result in results:
        scores = "  ".join(f"{category} {score:.2f}" for category, score in result["scores"].items())
        lines.append(f"{result['name']:<8} {scores}  {result['url']}")
        lines += [f"    {f['category']}: {f['id']} ({f['title']})" for f in result["failed"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Start the local stack, audit, stop it; print the scores; 1 if any is under the minimum."""
    from tests.support.stack import local_stack

    parser = argparse.ArgumentParser(prog="python -m tools.lighthouse", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", nargs="*", choices=[page.name for page in PAGES], help="only these pages")
    parser.add_argument("--min", type=float, default=MINIMUM, help=f"the lowest score accepted (default {MINIMUM})")
    args = parser.parse_args(argv)
    pages = tuple(page for page in PAGES if not args.pages or page.name in args.pages)
    with tempfile.TemporaryDirectory() as logs, local_stack(Path(logs)) as stack:
        results = audit(stack.app_url, stack.login_url, pages)
    print(report(results))
    low = [r["name"] for r in results if min(r["scores"].values()) < args.min]
    if low:
        print(f"under {args.min}: {', '.join(low)}")
    return 1 if low else 0


if __name__ == "__main__":
    raise SystemExit(main())
