"""`ca-audit access --format html` in headless Chromium (Playwright with Debian's chromium, or
CA_AUDIT_CHROMIUM): loaded from a file URL, filtered, an app opened with the keyboard, a cut user
list saying so; no console error, no policy violation, no request leaving the file. Skips with the
reason when either is missing."""

from __future__ import annotations

import pytest

from tests.conftest import SAMPLE
from tests.fakeorg.fixtures import invoke
from tests.formats.test_access_html import wide_snapshot
from tests.formats.test_html_browser import Report, browser  # noqa: F401  (browser: the shared fixture)


@pytest.fixture
def page(browser, tmp_path):  # noqa: F811
    result = invoke("access", str(SAMPLE / "org.snapshot.json"), "--format", "html", cwd=SAMPLE)
    assert result.exit_code == 0, result.stderr
    path = tmp_path / "access.html"
    path.write_text(result.stdout, encoding="utf-8")
    report = Report(browser, path).ready()
    yield report
    report.close()


def test_filter_open_an_app_and_stay_clean(page):
    from playwright.sync_api import expect

    p = page.page
    rows = p.locator("#rows tr[data-app]")
    expect(rows).to_have_count(11)
    assert page.rows()[:3] == ["Legacy_Reporting", "Mobile_Field_App", "SAML_Bearer_Integration"]  # widest first
    expect(p.locator("#status")).to_have_text("11 of 11 apps shown")

    p.get_by_label("Permitted users").select_option("self_authorized")
    expect(rows).to_have_count(3)
    for index in range(3):
        expect(rows.nth(index)).to_contain_text("self authorized")  # the word, not only the colour
        expect(rows.nth(index)).to_contain_text("all active users (9)")
    p.get_by_label("Permitted users").select_option("")

    page.search("legacy_rep", 1)
    page.search("", 11)
    p.get_by_label("Search").fill("integration_api_access")  # a permission set finds the app it grants
    expect(rows).to_have_count(1)
    assert page.rows() == ["Integration_App"]

    button = p.get_by_role("button", name="Integration_App")
    expect(button).to_have_attribute("aria-expanded", "false")
    button.focus()
    p.keyboard.press("Enter")
    detail = p.get_by_role("region", name="Details of Integration_App")
    expect(detail).to_be_visible()
    expect(p.get_by_role("button", name="Integration_App")).to_be_focused()
    expect(p.get_by_role("button", name="Integration_App")).to_have_attribute("aria-expanded", "true")
    expect(detail).to_contain_text("admin approved")
    expect(detail).to_contain_text("Integration_API_Access")
    can_use = detail.get_by_role("table", name="Users who can use it (1)")
    expect(can_use).to_contain_text("order.integration@northwind.example.com")
    expect(can_use).to_contain_text("permission_set:Integration_API_Access")
    expect(can_use).to_contain_text("active")
    expect(can_use).to_contain_text("not frozen")
    holders = detail.get_by_role("table", name="Token holders (1)")
    expect(holders).to_contain_text("2026-12-02T09:47:07Z")
    p.keyboard.press("Space")  # closes again
    expect(detail).to_have_count(0)
    page.assert_clean()


def test_an_expired_assignment_and_a_token_holder_outside_the_grant_are_shown(page):
    """Finance_Batch_Loader: finance.batch's assignment expired (shown, not counted), and the admin
    holds a token without a grant (shown with what the org says of the user)."""
    import json

    from playwright.sync_api import expect

    data = json.loads((SAMPLE / "org.snapshot.json").read_text(encoding="utf-8"))
    expiry = next(r["ExpirationDate"] for r in data["soql"]["AccessAssignments"] if r.get("ExpirationDate"))[:10]
    p = page.page
    p.get_by_role("button", name="Finance_Batch_Loader").click()
    detail = p.get_by_role("region", name="Details of Finance_Batch_Loader")
    expired = detail.get_by_role("table", name="Assignment expired (not counted) (1)")
    expect(expired).to_contain_text("finance.batch@northwind.example.com")
    expect(expired).to_contain_text(expiry)
    holders = detail.get_by_role("table", name="Token holders (1)")
    expect(holders).to_contain_text("admin@northwind.example.com")
    expect(holders).to_contain_text("active")
    expect(holders).to_contain_text("not frozen")
    page.assert_clean()


def test_sorting_by_a_column_and_printing(page):
    from playwright.sync_api import expect

    p = page.page
    p.locator("#head button[data-key=name]").click()
    expect(p.locator("#head th[aria-sort=ascending]")).to_have_text("App")
    names = page.rows()
    assert names == sorted(names, key=str.lower)
    p.locator("#head button[data-key=name]").click()
    expect(p.locator("#head th[aria-sort=descending]")).to_have_text("App")
    assert page.rows() == names[::-1]
    p.emulate_media(media="print")
    expect(p.locator(".controls")).to_be_hidden()
    expect(p.locator("#rows tr[data-app]")).to_have_count(11)
    page.assert_clean()


def test_a_cut_user_list_says_how_many_and_where_the_rest_is(browser, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    snapshot = wide_snapshot(tmp_path)
    result = invoke("access", str(snapshot), "--format", "html", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    path = tmp_path / "access.html"
    path.write_text(result.stdout, encoding="utf-8")
    report = Report(browser, path).ready()
    try:
        p = report.page
        p.get_by_role("button", name="Integration_App").click()
        detail = p.get_by_role("region", name="Details of Integration_App")
        can_use = detail.get_by_role("table", name="Users who can use it (61)")
        expect(can_use.locator("tbody tr")).to_have_count(20)
        expect(can_use).not_to_contain_text("inactive")  # counted users first
        capped = detail.locator("p.capped")
        expect(capped).to_have_count(2)
        expect(capped.nth(0)).to_have_text("Showing 20 of 61 users, active, unfrozen users first. The complete "
                                           "list is in ca-audit access --format csv or --format json.")
        expect(detail.get_by_role("table", name="Token holders (41)").locator("tbody tr")).to_have_count(20)
        expect(capped.nth(1)).to_contain_text("Showing 20 of 41 users, most recently used first.")
        expect(capped.nth(1)).to_be_visible()
        report.assert_clean()
    finally:
        report.close()
