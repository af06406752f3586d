"""`ca-audit access --format html` without a browser: the data block is the inventory of
`--format json` with each app's user lists cut to the most relevant (counts intact), the page stays
small at 3,000 apps, hostile app names and usernames stay data, and the policy hashes the inline code.
(tests/formats/test_access_html_browser.py loads the page in Chromium.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

from auditor.formats.access_html import USERS_SHOWN, render
from tests.conftest import SAMPLE
from tests.fakeorg.fixtures import invoke
from tests.formats.html_support import EVIL_LABEL, EVIL_NAME, Page, access_inventory, capped, sha256_source

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


def wide_snapshot(tmp_path: Path, extra: int = 60) -> Path:
    """The sample snapshot with `extra` more users holding Integration_App's permission set (every
    7th inactive, every 11th frozen) and two thirds of them holding its tokens, used on varied days
    (every 5th never), so both of its lists run past what the page shows."""
    data = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    soql = data["soql"]
    for n in range(extra):
        uid = f"0055e00000W{n:04d}AAA"
        username = f"wide.user{n:03d}@northwind.example.com"
        soql["AccessUsers"].append({"Id": uid, "IsActive": n % 7 != 3, "Profile": {"Name": "Standard User"},
                                    "ProfileId": "00e5e0000000099AAA", "UserType": "Standard", "Username": username})
        soql["AccessAssignments"].append({"AssigneeId": uid, "ExpirationDate": None, "IsRevoked": False,
                                          "PermissionSetGroupId": None, "PermissionSetId": "0PS5e0000000011AAA"})
        if n % 11 == 5:
            soql["FrozenUsers"].append({"UserId": uid})
        if n % 3:
            soql["OauthToken"].append({
                "AppName": "Integration App", "CreatedDate": "2026-01-03T09:47:07.000+0000",
                "LastUsedDate": None if n % 5 == 0 else f"2026-{n % 11 + 1:02d}-{n % 27 + 1:02d}T09:47:07.000+0000",
                "UseCount": 1, "User": {"Username": username}, "UserId": uid})
    data["inventory"]["token_count"] = len(soql["OauthToken"])
    path = tmp_path / "org.snapshot.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_page_embeds_the_json_inventory_with_lists_cut_and_counts_intact(tmp_path):
    snapshot = wide_snapshot(tmp_path)
    code, page_text = access(str(snapshot), "--format", "html", cwd=tmp_path)
    assert code == 0
    code, json_text = access(str(snapshot), "--format", "json", cwd=tmp_path)
    assert code == 0
    full, page = json.loads(json_text), Page(page_text)
    assert page.data == capped(full, USERS_SHOWN)
    assert {a["name"] for a in page.data["apps"]} >= {APP, "Legacy_Reporting"}
    # The widened app really was cut, its counts are the JSON's, and the JSON is complete.
    (app,) = [a for a in full["apps"] if a["name"] == APP]
    (shown,) = [a for a in page.data["apps"] if a["name"] == APP]
    assert len(app["can_use"]["users"]) == 61 and shown["can_use"]["users_total"] == 61
    assert len(app["uses"]["users"]) == 41 and shown["uses"]["users_total"] == 41
    assert len(shown["can_use"]["users"]) == len(shown["uses"]["users"]) == USERS_SHOWN
    assert shown["can_use"]["count"] == app["can_use"]["count"] == 61 - 9 - 5 + 1  # 9 inactive, 5 frozen, 1 both
    assert shown["uses"]["token_count"] == app["uses"]["token_count"] == 41
    assert all(u["active"] and not u["frozen"] for u in shown["can_use"]["users"])
    assert shown["uses"]["users"][0]["last_used"] == max(u["last_used"] or "" for u in app["uses"]["users"])
    assert [a.get("id") for t, a in page.tags if t == "script" and a.get("type") == "application/json"] == [
        "access-data"]


def test_three_thousand_apps_stay_under_ten_mib():
    inventory = access_inventory(3_000)
    text = render(inventory)
    assert len(text.encode("utf-8")) <= 10 * 2**20, len(text.encode("utf-8")) / 2**20
    page = Page(text)
    data = page.data
    assert [a["name"] for a in data["apps"]] == [f"Enterprise_App_{n:05d}" for n in range(3_000)]
    assert data == capped(inventory, USERS_SHOWN)
    big = max(inventory["apps"], key=lambda a: len(a["can_use"]["users"]))
    assert len(big["can_use"]["users"]) > 1_900
    # The page says, where a list is cut, how many it shows of how many and where the rest is.
    assert ('"Showing " + num(rows.length) + " of " + num(total) + " users, " + order +\n'
            '      ". The complete list is in ca-audit access --format csv or --format json."') in page.code
    assert "the 20 most relevant users" in text


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
