"""`ca-audit access --format html` without a browser: the data block is exactly the inventory of
`--format json`, hostile app names and usernames stay data, and the policy hashes the inline code.
(tests/formats/test_access_html_browser.py loads the page in Chromium.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import SAMPLE
from tests.fakeorg.fixtures import invoke
from tests.formats.html_support import EVIL_LABEL, EVIL_NAME, Page, sha256_source

SNAPSHOT = SAMPLE / "org.snapshot.json"
EVIL_USER = "o'brien\"<script>alert(9)</script>\n@x.example"
APP, USER = "Integration_App", "order.integration@northwind.example.com"


def access(*args: str, cwd: Path = SAMPLE) -> tuple[int, str]:
    result = invoke("access", *args, cwd=cwd)
    return result.exit_code, result.stdout


def hostile_snapshot(tmp_path: Path) -> Path:
    """The sample snapshot with one app renamed and one user's username replaced by hostile text."""
    text = SNAPSHOT.read_text(encoding="utf-8")
    assert APP in text and USER in text
    text = text.replace(APP, json.dumps(EVIL_NAME)[1:-1]).replace(USER, json.dumps(EVIL_USER)[1:-1])
    path = tmp_path / "org.snapshot.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_page_embeds_exactly_the_json_inventory():
    code, page_text = access(str(SNAPSHOT), "--format", "html")
    assert code == 0
    code, json_text = access(str(SNAPSHOT), "--format", "json")
    page = Page(page_text)
    assert page.data == json.loads(json_text)
    assert {a["name"] for a in page.data["apps"]} >= {APP, "Legacy_Reporting"}
    assert [a.get("id") for t, a in page.tags if t == "script" and a.get("type") == "application/json"] == [
        "access-data"]


def test_the_policy_allows_only_the_inline_style_and_script():
    page = Page(access(str(SNAPSHOT), "--format", "html")[1])
    (style,) = page.styles
    assert page.policy == (f"default-src 'none'; script-src {sha256_source(page.code)}; "
                           f"style-src {sha256_source(style)}; base-uri 'none'; form-action 'none'")
    assert "innerHTML" not in page.code and "eval(" not in page.code and "http" not in page.code
    # Only the data script and the page's script; no handler attributes, no links out.
    assert all(not name.startswith("on") for _t, attrs in page.tags for name in attrs)
    assert not [a for t, a in page.tags if t in ("link", "img", "iframe", "a")]


def test_hostile_app_names_and_usernames_stay_data(tmp_path):
    snapshot = hostile_snapshot(tmp_path)
    code, text = access(str(snapshot), "--format", "html", cwd=tmp_path)
    assert code == 0
    page = Page(text)
    for character in "<>&\u2028\u2029":
        assert character not in page.data_text, character
    apps = {a["name"]: a for a in page.data["apps"]}
    app = apps[EVIL_NAME]
    assert [u["username"] for u in app["can_use"]["users"]] == [EVIL_USER]
    assert [u["username"] for u in app["uses"]["users"]] == [EVIL_USER]
    # Two scripts, no markup from the input anywhere in the document.
    assert len(page.scripts) == 2
    outside = re.sub(r'<script type="application/json" id="access-data">.*?</script>', "", text, flags=re.S)
    assert "alert(" not in outside and "<!--" not in outside


def test_header_values_are_escaped_and_errors_shown():
    from auditor.formats.access_html import render
    from auditor.model import InputError

    inventory = {"tool": {"name": "ca-audit", "version": "x"},
                 "org": {"org_name": EVIL_LABEL, "org_id": "00D'\"", "instance_url": None, "pulled_at": None},
                 "apps": []}
    text = render(inventory, [f"note {EVIL_NAME}"], [InputError(EVIL_LABEL, 3, "bad <b>thing</b>")])
    page = Page(text)
    assert len(page.scripts) == 2 and not [t for t, _a in page.tags if t in ("b", "img")]
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in text
    assert "bad &lt;b&gt;thing&lt;/b&gt;" in text and ":3</code>" in text
    assert "Input errors: this inventory is incomplete" in text
    assert page.data == inventory


def test_unknown_format_is_a_usage_error():
    result = invoke("access", str(SNAPSHOT), "--format", "pdf", cwd=SAMPLE)
    assert result.exit_code == 2
    assert "table, json, csv, html" in result.stderr
