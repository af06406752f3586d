"""Shared by the HTML report tests: a project full of values that try to break out of the page,
and a parser that takes a rendered page apart."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from tests.conftest import SAMPLE

CONNECTED_APPS = "force-app/main/default/connectedApps"
# Values that end the data block, open a comment, inject markup or break a JavaScript string.
EVIL_NAME = "Evil\"'<script>alert(1)<!--&amp;\u2028x\u2029"
EVIL_LABEL = "</script><script>alert(2)</script>\nsecond line"
EVIL_URL = "http://evil.example/</script><img src=x onerror=alert(3)>?a=1&b='2'\"<!--"
EVIL_REASON = "</script><script>alert(4)</script>\nline two & \"quoted\""
EVIL_TITLE = "</script><img src=x onerror=alert(5)> rule"
EVIL_REFERENCE = "https://example.com/?q=\"><script>alert(6)</script>"
EVIL_FOLDER = "proj \"<b>bold</b>'"


def evil_project(tmp_path: Path) -> Path:
    """One connected app whose name, label and callback URL are hostile, a waiver whose reason is,
    and a custom rule whose title, why, fix and reference are."""
    project = tmp_path / EVIL_FOLDER
    apps = project / CONNECTED_APPS
    apps.mkdir(parents=True)
    text = (SAMPLE / CONNECTED_APPS / "Legacy_Reporting.connectedApp-meta.xml").read_text(encoding="utf-8")
    text = text.replace("<label>Legacy Reporting</label>", f"<label>{xml_escape(EVIL_LABEL)}</label>")
    text = text.replace("http://reports.northwind.example.com/sfdc/oauth/callback", xml_escape(EVIL_URL))
    (apps / f"{EVIL_NAME}.connectedApp-meta.xml").write_text(text, encoding="utf-8")
    (project / "sfdx-project.json").write_text('{"packageDirectories": [{"path": "force-app", "default": true}]}')
    rules = project / "policies"
    rules.mkdir()
    (rules / "X-01.yaml").write_text(
        "id: X-01\n"
        f"title: {json.dumps(EVIL_TITLE)}\n"
        "severity: low\n"
        "require: {field: oauth.scopes, contains: Api}\n"
        'message: "{name} lacks Api </script><!--"\n'
        'why: "Because </script><script>alert(7)</script>"\n'
        'fix: "Do it. Connected app: click <b>here</b>. External client app: click </script> there. Then retest."\n'
        f"references: [{json.dumps(EVIL_REFERENCE)}]\n"
        "tags: [scopes]\n",
        encoding="utf-8",
    )
    (project / ".ca-audit.yaml").write_text(
        "rule_dirs: [policies/]\n"
        "waivers:\n"
        "  - rule: CA-14\n"
        f"    app: {json.dumps(EVIL_NAME)}\n"
        f"    reason: {json.dumps(EVIL_REASON)}\n",
        encoding="utf-8",
    )
    return project


class Page(HTMLParser):
    """Elements, attributes and raw text blocks of a rendered report."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self._open: tuple[str, dict[str, str | None]] | None = None
        self._buffer: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._open, self._buffer = (tag, dict(attrs)), []

    def handle_data(self, data):
        if self._open is not None:
            self._buffer.append(data)

    def handle_endtag(self, tag):
        if self._open is not None and tag == self._open[0]:
            body = "".join(self._buffer)
            if tag == "script":
                self.scripts.append((self._open[1], body))
            else:
                self.styles.append(body)
        self._open = None

    @property
    def data_text(self) -> str:
        (text,) = [body for attrs, body in self.scripts if attrs.get("type") == "application/json"]
        return text

    @property
    def data(self) -> dict:
        return json.loads(self.data_text)

    @property
    def code(self) -> str:
        (text,) = [body for attrs, body in self.scripts if attrs.get("type") != "application/json"]
        return text

    @property
    def policy(self) -> str:
        (meta,) = [a for t, a in self.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
        return meta["content"] or ""


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def outside_data(text: str) -> str:
    """The document without its JSON data block."""
    return re.sub(r'<script type="application/json" id="report-data">.*?</script>', "", text, flags=re.S)


# ---------------------------------------------------------------------------- the access page at scale
def access_inventory(apps: int, users: int = 20_000, seed: int = 11) -> dict:
    """An inventory in the JSON shape of `ca-audit access --format json` (docs/org.md), generated:
    60% of the apps admin approved with 50–2,000 users who can use each (5% inactive, 2% frozen),
    the rest self authorized; token users per app heavy-tailed (most a few, some thousands).
    Users are shared entries cut from two pools, so 3,000 apps build in a second."""
    import random

    rnd = random.Random(seed)
    grants = [f"permission_set:Integration_Access_{k:02d}" for k in range(40)] + [
        f"profile:Regional Sales Profile {k}" for k in range(10)]
    names = [f"first.last{n:05d}@northwind-enterprise.example.com" for n in range(users)]
    can_pool = [{"username": name, "via": sorted(rnd.sample(grants, rnd.choice((1, 1, 2)))),
                 "active": rnd.random() > 0.05, "frozen": rnd.random() < 0.02} for name in names]
    uses_pool = [{"username": name, "tokens": rnd.randint(1, 4),
                  "last_used": None if rnd.random() < 0.1 else
                  f"2026-{rnd.randint(1, 11):02d}-{rnd.randint(1, 28):02d}T{rnd.randint(0, 23):02d}:00:00Z"}
                 for name in names]
    out = []
    for index in range(apps):
        admin = rnd.random() < 0.6
        if admin:
            size = rnd.randint(50, 2_000)
            start = rnd.randrange(users - size)
            listed = can_pool[start:start + size]
            can = {"scope": "assigned", "count": sum(1 for u in listed if u["active"] and not u["frozen"]),
                   "users": listed}
        else:
            can = {"scope": "all_users", "count": users - 500, "users": []}
        size = min(users - 1, int(rnd.paretovariate(1.1) * 4) - 4)
        start = rnd.randrange(users - size)
        holders = uses_pool[start:start + size]
        dates = [u["last_used"] for u in holders if u["last_used"]]
        out.append({"name": f"Enterprise_App_{index:05d}", "kind": "connected_app",
                    "permitted_users": "admin_approved" if admin else "self_authorized",
                    "assigned": {"profiles": [], "permission_sets": sorted({v.split(":", 1)[1] for u in can["users"][:3]
                                                                            for v in u["via"]}),
                                 "permission_set_groups": []},
                    "can_use": can,
                    "uses": {"token_count": sum(u["tokens"] for u in holders), "token_users": len(holders),
                             "last_used": max(dates, default=None), "last_login": None, "users": holders},
                    "integration_users": []})
    return {"tool": {"name": "ca-audit", "version": "test"}, "org": {"org_name": "Northwind Enterprise"},
            "apps": out}


def capped(inventory: dict, limit: int) -> dict:
    """What the access page must embed, written from the rule in docs/org.md independently of the
    code: each app's `can_use.users` cut to `limit` users, counted users (active and not frozen)
    before the others, each in username order; `uses.users` cut to `limit`, most recently used
    first, users who never used a token last, then more tokens first, then username; both with
    `users_total` the full list's length; `can_use.expired` cut to `limit` with `expired_total`.
    Everything else as it is."""
    import copy
    import datetime as dt

    def recent(u: dict) -> tuple:
        when = dt.datetime.fromisoformat(u["last_used"].replace("Z", "+00:00")).timestamp() if u["last_used"] else 0
        return (u["last_used"] is None, -when, -u["tokens"], u["username"])

    out = copy.copy(inventory)
    out["apps"] = []
    for app in inventory["apps"]:
        app = {**app, "can_use": dict(app["can_use"]), "uses": dict(app["uses"])}
        can = app["can_use"]["users"]
        ordered = sorted(can, key=lambda u: (not (u["active"] and not u["frozen"]), u["username"]))
        app["can_use"].update(users=ordered[:limit], users_total=len(can))
        if "expired" in app["can_use"]:  # shown, not counted: username order, cut the same way
            expired = app["can_use"]["expired"]
            app["can_use"].update(expired=expired[:limit], expired_total=len(expired))
        uses = app["uses"]["users"]
        app["uses"].update(users=sorted(uses, key=recent)[:limit], users_total=len(uses))
        out["apps"].append(app)
    return out
