"""The API's documentation page in real headless Chromium: Swagger UI draws the app's OpenAPI document under
the app's Content-Security-Policy (no inline script or style allowed), with nothing refused or broken."""

from playwright.sync_api import expect


def test_the_api_docs_show_every_operation_under_the_csp(page, stack):
    page.goto("/api/docs")
    for operation in ("/records", "/records/{record_id}", "/records/{record_id}/history", "/me"):
        expect(page.get_by_text(operation, exact=True).first).to_be_visible()
    expect(page.get_by_text("Dashboard API").first).to_be_visible()
    page.get_by_text("/records/{record_id}/history", exact=True).first.click()  # an operation opens
    expect(page.get_by_text("Parameters").first).to_be_visible()
    assert [problem for problem in page.problems if "Content Security Policy" in problem] == []
    assert page.problems == []
