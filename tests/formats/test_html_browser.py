"""The HTML report in a real browser: headless Chromium (Debian's `chromium` package) driven by
Playwright for Python, loading the report from a file URL. Each test fails on any console error
(Content-Security-Policy violations included), any uncaught script error, any dialog, and any
request other than the file itself.

Skips, saying why, when Playwright or Chromium is missing (`.ci/run` installs both). Playwright
never downloads a browser here: it drives the system Chromium through `executable_path`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from auditor.formats import render
from tests.ci_support import sample_copy, scan
from tests.conftest import SAMPLE
from tests.formats.html_support import CONNECTED_APPS, EVIL_FOLDER, EVIL_LABEL, EVIL_NAME, EVIL_URL, evil_project


def chromium_path() -> str | None:
    """Debian's chromium (or CA_AUDIT_CHROMIUM)."""
    named = os.environ.get("CA_AUDIT_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need Playwright for Python: pip install -e '.[test]'")
    executable = chromium_path()
    if executable is None and os.environ.get("CA_AUDIT_CHROMIUM"):
        pytest.skip(f"browser tests: CA_AUDIT_CHROMIUM={os.environ['CA_AUDIT_CHROMIUM']} is not a file")
    if executable is None:
        pytest.skip("browser tests need Chromium: apt-get install chromium (Debian), or set CA_AUDIT_CHROMIUM")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable)
        yield chromium
        chromium.close()


class Report:
    """A report file open in a fresh page, with everything the page says recorded."""

    def __init__(self, browser, path: Path) -> None:
        self.url = path.resolve().as_uri()
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        # Counted by the page itself as well: the events the policy raises.
        self.page.add_init_script(
            "window.__violations = [];"
            "document.addEventListener('securitypolicyviolation', function (e) {"
            " window.__violations.push(e.violatedDirective + ' ' + e.blockedURI); });")
        self.page.goto(self.url)

    def ready(self) -> Report:
        self.page.wait_for_selector("body[data-ready]", timeout=10000)
        return self

    def search(self, text: str, count: int) -> None:
        """Type into the search box and wait for the debounced filter: `count` rows, each naming
        `text`. (The page's policy forbids string evaluation, so no wait_for_function here.)"""
        from playwright.sync_api import expect

        self.page.get_by_label("Search").fill(text)
        rows = self.page.locator("#rows tr[data-app]")
        expect(rows).to_have_count(count)
        if text:
            for index in range(count):
                expect(rows.nth(index)).to_contain_text(text, ignore_case=True)

    def rows(self) -> list[str]:
        return self.page.locator("#rows tr[data-app] .app").all_inner_texts()

    def assert_clean(self) -> None:
        problems = [line for line in self.console if line.startswith(("error", "warning"))]
        assert not problems, problems
        assert not self.errors, self.errors
        assert not self.dialogs, self.dialogs
        assert self.page.evaluate("window.__violations") == []
        assert set(self.requests) == {self.url}, self.requests

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_report(browser):
    opened: list[Report] = []

    def opener(path: Path, wait: bool = True) -> Report:
        report = Report(browser, path)
        opened.append(report)
        return report.ready() if wait else report

    yield opener
    for report in opened:
        report.close()


@pytest.fixture
def sample_report(tmp_path, monkeypatch) -> Path:
    """sample_configs with its org snapshot: repository apps, org apps, drift, usage, a waiver."""
    monkeypatch.chdir(tmp_path)
    sample_copy(tmp_path / "project", odd_app=False)
    path = tmp_path / "report.html"
    path.write_text(render("html", scan(Path("project"), Path("project/org.snapshot.json"))), encoding="utf-8")
    return path


def test_loads_from_a_file_url_without_errors_or_requests(open_report, sample_report):
    report = open_report(sample_report)
    page = report.page
    assert page.title() == "ca-audit report: FAILED"
    assert page.locator(".verdict").inner_text().startswith("FAILED")
    total = page.evaluate("JSON.parse(document.getElementById('report-data').textContent).apps.length")
    assert total > 20 and len(report.rows()) == total  # repository and org copies of the sample apps
    shown = f"Showing apps 1–{total} of {total} that match ({total} in the report)"
    assert page.locator("#status").inner_text() == shown
    # Worst first: the only critical app heads the matrix, its cell labelled by letter and word.
    first = page.locator("#rows tr[data-app]").first
    assert first.locator(".app").inner_text() == "Legacy_Reporting"
    assert first.locator("td.s0").first.inner_text().startswith("critical")
    report.assert_clean()


def test_severity_filter_then_an_app_shows_its_findings(open_report, sample_report):
    report = open_report(sample_report)
    page = report.page
    for word in ("high", "medium", "low", "info", "no findings"):
        page.get_by_label(word, exact=True).uncheck()
    assert report.rows() == ["Legacy_Reporting"]
    assert page.locator("#status").inner_text().startswith("Showing apps 1–1 of 1 that match")

    page.get_by_role("button", name="Legacy_Reporting", exact=True).click()
    detail = page.locator("tr.detail")
    assert detail.is_visible()
    assert page.get_by_role("button", name="Legacy_Reporting", exact=True).get_attribute("aria-expanded") == "true"
    secret = detail.locator("article", has_text="CA-23")
    assert secret.is_visible()
    assert "Legacy_Reporting has its OAuth consumer secret committed to source" in secret.inner_text()
    where = "project/force-app/main/default/connectedApps/Legacy_Reporting.connectedApp-meta.xml:9"
    assert secret.locator("code").inner_text() == where
    fix = secret.locator("p", has_text="Fix for a connected app:").inner_text()
    assert "Manage Consumer Details" in fix and "External client app:" not in fix
    assert not secret.get_by_text("shouldRotateConsumerSecret").is_visible()  # the other kind's fix stays folded
    secret.get_by_text("Fix as written (both kinds)").click()
    assert secret.get_by_text("shouldRotateConsumerSecret", exact=False).is_visible()
    assert secret.get_by_role("link").first.get_attribute("href").startswith("https://")
    assert detail.get_by_role("heading", name="Findings (8)").is_visible()
    report.assert_clean()


def test_search_kind_rule_and_sort(open_report, sample_report):
    report = open_report(sample_report)
    page = report.page
    report.search("scanner", 1)
    assert report.rows() == ["Warehouse_Scanner"]
    report.search("", page.evaluate("JSON.parse(document.getElementById('report-data').textContent).apps.length"))

    page.get_by_label("Kind").select_option("external_client_app")
    kinds = page.locator("#rows tr[data-app] td:nth-child(2)").all_inner_texts()
    assert kinds and all(kind.startswith("ECA") for kind in kinds)
    page.get_by_label("Kind").select_option("")

    page.get_by_label("Rule fired").select_option(label="CA-24 — " + page.evaluate(
        "JSON.parse(document.getElementById('report-data').textContent).rules"
        ".find(function (r) { return r.id === 'CA-24'; }).title"))
    # CA-24: repository apps the org snapshot does not have
    assert sorted(report.rows()) == ["Data_Warehouse_Admin", "GitHub_Actions_Deploy", "Partner_Portal"]
    page.get_by_label("Rule fired").select_option("")

    by_name = page.locator("#head button[data-key=name]")
    by_name.click()
    names = report.rows()
    assert names == sorted(names)
    assert page.locator("#head th").first.get_attribute("aria-sort") == "ascending"
    by_name.click()
    assert report.rows() == sorted(names, reverse=True)
    assert page.locator("#head th").first.get_attribute("aria-sort") == "descending"
    report.assert_clean()


def test_keyboard_opens_and_closes_an_app(open_report, sample_report):
    report = open_report(sample_report)
    page = report.page
    page.get_by_label("Search").focus()
    page.keyboard.press("Tab")  # through the filters and the column headers' sort buttons
    for _ in range(80):
        if page.evaluate("document.activeElement.classList.contains('app')"):
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Legacy_Reporting"
    page.keyboard.press("Enter")
    assert page.locator("tr.detail").is_visible()
    assert page.evaluate("document.activeElement.getAttribute('aria-expanded')") == "true"
    page.keyboard.press("Space")
    assert page.locator("tr.detail").count() == 0
    report.assert_clean()


def test_org_drift_usage_and_waived_findings_apart(open_report, sample_report):
    report = open_report(sample_report)
    page = report.page
    report.search("mobile_field", 2)
    rows = page.locator("#rows tr[data-app]")
    assert sorted(rows.locator("td:nth-child(5)").all_inner_texts()) == ["1 token", "drift: 1"]
    for index in range(2):
        page.locator("#rows tr[data-app] .app").nth(index).click()
    text = " ".join(page.locator("tr.detail").all_inner_texts())
    assert "policy.refresh_token.kind (repository: zero; org: infinite)" in text
    assert "Token usage" in text and "analyst@northwind.example.com" in text

    report.search("mulesoft", 2)
    page.locator("#rows tr[data-app] .app").first.click()
    detail = page.locator("tr.detail").first
    assert detail.get_by_role("heading", name="Waived (1)").is_visible()
    waived = detail.locator("article", has_text="Waived:")
    assert "CA-16" in waived.inner_text() and "INT-2291" in waived.inner_text()
    report.assert_clean()


def test_prints_without_controls(open_report, sample_report):
    report = open_report(sample_report)
    page = report.page
    page.get_by_role("button", name="Legacy_Reporting", exact=True).click()
    page.emulate_media(media="print")
    assert not page.locator(".controls").is_visible() and not page.locator(".pager").is_visible()
    assert page.locator(".verdict").is_visible() and page.locator("tr.detail").is_visible()
    assert len(page.pdf()) > 10000  # Chromium lays the page out for print
    report.assert_clean()


def test_hostile_values_stay_text(open_report, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    evil_project(tmp_path)
    path = tmp_path / "evil.html"
    path.write_text(render("html", scan(Path(EVIL_FOLDER))), encoding="utf-8")
    report = open_report(path)
    page = report.page
    assert report.rows() == [EVIL_NAME]
    page.locator("#rows .app").click()
    detail = page.locator("tr.detail")
    assert detail.locator("h3").inner_text() == EVIL_NAME
    assert EVIL_LABEL.split("\n")[0] in detail.inner_text()
    assert EVIL_URL in detail.inner_text()
    assert page.evaluate("document.scripts.length") == 2
    assert page.locator("img").count() == 0 and page.locator("tr.detail b").count() == 0
    links = detail.get_by_role("link").evaluate_all("(links) => links.map((a) => a.getAttribute('href'))")
    assert all(href.startswith("https://") for href in links)
    report.assert_clean()


def test_a_tampered_script_is_refused_and_the_test_sees_it(open_report, sample_report):
    """The policy is real: change one character of the inline script and Chromium refuses to run
    it, and says so on the console, which is what the other tests watch."""
    text = sample_report.read_text(encoding="utf-8")
    sample_report.write_text(text.replace('"use strict";', '"use strict"; ', 1), encoding="utf-8")
    report = open_report(sample_report, wait=False)
    report.page.wait_for_load_state("load")
    assert report.page.locator("body[data-ready]").count() == 0
    assert any("Content Security Policy" in line for line in report.console), report.console
    assert report.page.evaluate("window.__violations")
    with pytest.raises(AssertionError):
        report.assert_clean()


def test_many_apps_are_paged(open_report, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = tmp_path / "many"
    folder = project / CONNECTED_APPS
    folder.mkdir(parents=True)
    sources = sorted((SAMPLE / CONNECTED_APPS).glob("*.connectedApp-meta.xml"))
    for index in range(260):
        source = sources[index % len(sources)]
        (folder / f"App_{index:04d}.connectedApp-meta.xml").write_text(source.read_text(encoding="utf-8"))
    path = tmp_path / "many.html"
    path.write_text(render("html", scan(project)), encoding="utf-8")
    report = open_report(path)
    page = report.page
    assert page.locator("#rows tr[data-app]").count() == 100
    assert page.locator("#page").inner_text() == "Page 1 of 3"
    page.get_by_role("button", name="Next").click()
    assert page.locator("#status").inner_text().startswith("Showing apps 101–200 of 260")
    page.get_by_role("button", name="Next").click()
    assert page.locator("#rows tr[data-app]").count() == 60 and page.get_by_role("button", name="Next").is_disabled()
    page.get_by_label("Apps per page").select_option("500")
    assert page.locator("#rows tr[data-app]").count() == 260
    report.assert_clean()
