"""The HTML report, without a browser: every value escaped, the data block exactly the report's
data, the Content-Security-Policy hashes matching the inline code. (tests/formats/test_html_browser.py
loads the page in Chromium.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from auditor.formats import FORMATS, render
from auditor.formats.html import page_data, script_json
from auditor.model import SEVERITY_WORDS
from tests.ci_support import sample_copy, scan
from tests.conftest import SAMPLE, run_cli
from tests.formats.html_support import (
    EVIL_FOLDER,
    EVIL_LABEL,
    EVIL_NAME,
    EVIL_REASON,
    EVIL_REFERENCE,
    EVIL_TITLE,
    EVIL_URL,
    Page,
    evil_project,
    outside_data,
    sha256_source,
)

SNAPSHOT = SAMPLE / "org.snapshot.json"


@pytest.fixture
def evil(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    evil_project(tmp_path)
    report = scan(Path(EVIL_FOLDER))
    assert not report.input_errors, report.input_errors
    return report, render("html", report)


def test_registered_like_the_other_formats():
    assert FORMATS["html"] == "auditor.formats.html"


def test_script_json_escapes_everything_that_could_end_the_block():
    value = {"k</script>": "</script><!--<script>&amp;\u2028\u2029'\"\n"}
    text = script_json(value)
    for character in "<>&\u2028\u2029":
        assert character not in text
    assert json.loads(text) == value


def test_data_block_holds_no_markup_and_round_trips_hostile_values(evil):
    report, text = evil
    page = Page(text)
    block = page.data_text
    for character in "<>&\u2028\u2029":
        assert character not in block, character
    data = page.data
    (app,) = data["apps"]
    assert app["n"] == EVIL_NAME
    assert app["lb"] == EVIL_LABEL
    assert {f["m"] for f in data["findings"]} == {f.message for f in report.findings}
    assert any(EVIL_URL in f["m"] for f in data["findings"])  # CA-31 quotes the callback URL
    rules = {rule["id"]: rule for rule in data["rules"]}
    assert rules["X-01"]["title"] == EVIL_TITLE
    assert rules["X-01"]["refs"] == [EVIL_REFERENCE]
    (waived,) = [f for f in data["findings"] if f["st"] == 1]
    assert waived["w"] == EVIL_REASON


def test_hostile_values_create_no_element_and_no_script(evil):
    _report, text = evil
    page = Page(text)
    tags = [tag for tag, _attrs in page.tags]
    assert tags.count("script") == 2 and len(page.scripts) == 2
    assert tags.count("style") == 1
    assert "img" not in tags and "b" not in tags
    assert not [attrs for _tag, attrs in page.tags if any(name.startswith("on") for name in attrs)]
    assert text.count("</script>") == 2
    rest = outside_data(text)
    for marker in ("alert(", "<!--", "\u2028", "\u2029"):
        assert marker not in rest, marker
    # The scan root is the one hostile value the static header shows: escaped, not markup.
    assert html_escaped(EVIL_FOLDER) in rest and EVIL_FOLDER not in rest


def html_escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_page_script_puts_data_on_screen_as_text_only():
    page = Page(render("html", scan(SAMPLE)))
    code = page.code
    assert "innerHTML" not in code and "outerHTML" not in code and "insertAdjacentHTML" not in code
    assert "document.write" not in code and "eval(" not in code and "new Function" not in code
    assert "textContent" in code
    assert code.isascii()


def test_csp_allows_only_the_inline_style_and_script_by_hash():
    text = render("html", scan(SAMPLE))
    page = Page(text)
    policy = {part.split()[0]: part.split()[1:] for part in page.policy.split(";")}
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == [sha256_source(page.code)]
    (style,) = page.styles
    assert policy["style-src"] == [sha256_source(style)]
    assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'none'"]
    assert "unsafe" not in page.policy
    # The policy must come before the code it governs.
    assert text.index("Content-Security-Policy") < text.index("<style>") < text.index("<script")


def test_no_reference_to_anything_outside_the_file():
    text = outside_data(render("html", scan(SAMPLE, SNAPSHOT)))
    page = Page(text)
    for tag, attrs in page.tags:
        for name in ("src", "href", "action", "srcset", "data"):
            assert name not in attrs, (tag, attrs)
    assert not re.search(r"url\(|@import|https?://", "".join(page.styles))
    assert "fetch(" not in page.code and "XMLHttpRequest" not in page.code and "import(" not in page.code


def test_embedded_data_is_the_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sample_copy(tmp_path / "project", odd_app=False)
    report = scan(Path("project"), Path("project/org.snapshot.json"))
    data = Page(render("html", report)).data
    assert data["failOn"] == str(report.fail_on) and data["exitCode"] == report.exit_code()
    assert data["severities"] == list(SEVERITY_WORDS)
    assert [(a["n"], a["k"], a["o"]) for a in data["apps"]] == [(a.name, a.kind, a.origin) for a in report.apps]
    assert [r["id"] for r in data["rules"]] == sorted(report.rules)

    active = [f for f in data["findings"] if f["st"] == 0]
    waived = [f for f in data["findings"] if f["st"] == 1]
    assert len(active) == len(report.active_findings) and len(waived) == len(report.findings) - len(active)
    assert sum(1 for f in data["findings"] if f.get("x")) == len(report.failing_findings)
    for word in SEVERITY_WORDS:
        shown = sum(1 for f in active if data["severities"][f["s"]] == word)
        assert shown == sum(str(f.severity) == word for f in report.active_findings)

    # Every check is a cell: a rule that ran on the app is marked, the others are not.
    rule_ids = [r["id"] for r in data["rules"]]
    for index, app in enumerate(report.apps):
        ran = {check.rule_id for check in report.checks if check.app is app}
        marks = data["apps"][index]["c"]
        assert {rule_ids[i] for i, mark in enumerate(marks) if mark == "p"} == ran

    # A finding names its app's row, its rule's column and the line it points at.
    legacy = next(i for i, a in enumerate(data["apps"]) if a["n"] == "Legacy_Reporting" and a["o"] == "files")
    (secret,) = [f for f in data["findings"] if f["a"] == legacy and rule_ids[f["r"]] == "CA-23"]
    where = f"{data['texts'][secret['lp']]}:{secret['ln']}"
    assert where == "project/force-app/main/default/connectedApps/Legacy_Reporting.connectedApp-meta.xml:9"
    assert data["severities"][secret["s"]] == "critical" and secret["x"] == 1

    # Org data: drift on the repository copy, token usage on the org copy.
    mobile = {a["o"]: a for a in data["apps"] if a["n"] == "Mobile_Field_App"}
    assert mobile["files"]["org"]["differences"] == ["policy.refresh_token.kind (repository: zero; org: infinite)"]
    assert mobile["org"]["org"]["usage.tokens"] == 1 and mobile["org"]["r"] == "project/org.snapshot.json"


def test_fix_is_given_for_the_app_kind_and_whole(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sample_copy(tmp_path / "project", odd_app=False)
    data = page_data(scan(Path("project")))
    texts = data["texts"]
    rule_ids = [r["id"] for r in data["rules"]]
    for finding in data["findings"]:
        kind = data["apps"][finding["a"]]["k"]
        if rule_ids[finding["r"]] != "CA-01":
            continue
        whole, own = texts[finding["F"]], texts[finding["f"]]
        assert "Connected app:" in whole and "External client app:" in whole
        assert own.endswith("Allow a few minutes for the change to propagate before retesting.")
        if kind == "connected_app":
            assert own.startswith("Connected app:") and "External client app" not in own
        else:
            assert own.startswith("External client app:") and "App Manager → app row" not in own


def test_baselined_findings_are_kept_apart(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sample_copy(tmp_path / "project", odd_app=False)
    done = run_cli("scan", "project", "--write-baseline", "baseline.json", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    written = json.loads(done.stdout)
    done = run_cli("scan", "project", "--baseline", "baseline.json", "--output", "html=out/report.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = Page((tmp_path / "out" / "report.html").read_text(encoding="utf-8")).data
    states = [f["st"] for f in data["findings"]]
    assert states.count(2) == written["summary"]["findings"]  # every known finding, shown as known
    assert states.count(1) == written["summary"]["waived"]  # waived ones stay waived
    assert states.count(0) == 0


def test_format_html_on_stdout_and_output_file(tmp_path):
    done = run_cli("scan", str(SAMPLE), "--format", "html")
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("<!DOCTYPE html>") and done.stdout.rstrip().endswith("</html>")
    target = tmp_path / "report.html"
    done = run_cli("scan", str(SAMPLE), "--output", f"html={target}")
    assert done.returncode == 1
    assert "FAILED" in done.stdout  # the table still goes to the terminal
    page = Page(target.read_text(encoding="utf-8"))
    scanned = json.loads(run_cli("scan", str(SAMPLE), "--format", "json").stdout)
    assert [a["n"] for a in page.data["apps"]] == [a["name"] for a in scanned["apps"]]


def test_header_says_verdict_counts_and_sources(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sample_copy(tmp_path / "project", odd_app=False)
    report = scan(Path("project"), Path("project/org.snapshot.json"))
    text = render("html", report)
    assert "<title>ca-audit report: FAILED</title>" in text
    assert f"{len(report.failing_findings)} findings at or above high" in text
    for word in SEVERITY_WORDS:
        count = sum(str(f.severity) == word for f in report.active_findings)
        assert f'<span class="w">{word}</span> <strong>{count}</strong>' in text
    assert "<dt>Scanned</dt><dd><code>project</code></dd>" in text
    assert "<dt>Org</dt><dd><code>project/org.snapshot.json</code></dd>" in text


def test_input_errors_make_the_page_say_incomplete(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    project = sample_copy(tmp_path / "project", odd_app=False)
    broken = project / "force-app/main/default/connectedApps/Broken.connectedApp-meta.xml"
    broken.write_text("<ConnectedApp><label>x</label>", encoding="utf-8")
    report = scan(Path("project"))
    assert report.input_errors
    text = render("html", report)
    assert "<strong>INCOMPLETE</strong>" in text and "<h2>Input errors</h2>" in text
    assert "Broken.connectedApp-meta.xml" in text
