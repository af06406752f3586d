"""`ca-audit access --format html`: the access inventory as one self-contained page.

A table of apps (sortable by every column, filtered by a text search and by the Permitted Users
policy) with, per app, a details view: the policy, the profiles / permission sets / groups
assigned, who can use the app (scope, count, each user with the grant it comes through, active
and frozen as words) and who uses it (token users, tokens, last used, last OAuth login), and the
configured integration users' status. Colour only repeats what a word already says.

It takes the plain inventory (`AccessResult.as_dict()`, the JSON shape of docs/org.md "access
inventory"), so this module stays in the formats layer. Safety is the scan page's
(auditor/formats/_page.py): the data travels as escaped JSON and is shown with `textContent` only,
under a Content-Security-Policy that admits only this page's inline style and script by hash.

The page is bounded: each app's two user lists (who can use it, who uses it) carry at most
`USERS_SHOWN` users, the most relevant first (`shown`), beside the full list's length, and the page
says so where a list is cut; every count is the JSON's. The complete lists are in `--format csv`
and `--format json`. At 3,000 apps with up to 2,000 users each the page stays under 10 MiB
(tests/formats/test_access_html.py).
"""

from __future__ import annotations

import heapq
from typing import Any

from auditor import __version__
from auditor.formats._page import DOM_HELPERS, document, text
from auditor.model import InputError

USERS_SHOWN = 20  # per list and app; 20 x 2 lists x 3,000 apps keeps the page under 10 MiB
ORG_FIELDS = (("org_name", "Org"), ("org_id", "Org id"), ("instance_url", "Instance"), ("pulled_at", "Read at"))


def _header(inventory: dict[str, Any], notes: list[str], errors: list[InputError]) -> str:
    e = text
    org = inventory.get("org") or {}
    apps = inventory.get("apps") or []
    out = ['<header>', '<h1>ca-audit access inventory</h1>',
           '<p class="lead">Who can use each app, and who uses it.</p>', '<dl class="meta">']
    out += [f"<dt>{label}</dt><dd><code>{e(str(org[key]))}</code></dd>" for key, label in ORG_FIELDS if org.get(key)]
    out.append(f"<dt>Apps</dt><dd>{len(apps)}</dd>")
    out.append(f"<dt>Tool</dt><dd>ca-audit {e(__version__)}</dd>")
    out.append("</dl>")
    if errors:
        out.append('<section class="errors"><h2>Input errors: this inventory is incomplete</h2><ul>')
        out += [f'<li><code>{e(error.path)}{f":{error.line}" if error.line else ""}</code> {e(error.message)}</li>'
                for error in errors]
        out.append("</ul></section>")
    if notes:
        out.append('<section class="notes"><h2>Notes</h2><ul>')
        out += [f"<li>{e(note)}</li>" for note in notes]
        out.append("</ul></section>")
    out.append("</header>")
    return "\n".join(out)


def shown(inventory: dict[str, Any], limit: int = USERS_SHOWN) -> dict[str, Any]:
    """The inventory as the page embeds it: every field as in the JSON, except that each app's
    `can_use.users`, `can_use.expired` and `uses.users` keep at most `limit` users, with
    `users_total` / `expired_total` (the full list's length) beside them. Who can use it: users who
    count (active, not frozen) first, since they are the exposure the count measures, then the
    inactive and frozen; each group in the JSON's username order. Who uses it: most recently used
    first (never used last), then the most tokens, then username: the live use an admin must look
    at before changing access."""
    apps = []
    for app in inventory.get("apps") or []:
        app = dict(app)
        if isinstance(app.get("can_use"), dict):
            can = dict(app["can_use"])
            users = can.get("users") or []
            if len(users) > limit:
                counted = [u for u in users if u.get("active") and not u.get("frozen")]
                rest = [u for u in users if not (u.get("active") and not u.get("frozen"))]
                users = (counted + rest)[:limit]
            can["users"], can["users_total"] = users, len(can.get("users") or [])
            if "expired" in can:  # users whose grant expired: shown, not counted; username order
                can["expired"], can["expired_total"] = (can["expired"] or [])[:limit], len(can["expired"] or [])
            app["can_use"] = can
        if isinstance(app.get("uses"), dict):
            uses = dict(app["uses"])
            users = uses.get("users") or []
            uses["users"] = heapq.nlargest(limit, users, key=lambda u: (u.get("last_used") or "", u.get("tokens") or 0))
            uses["users_total"] = len(users)
            app["uses"] = uses
        apps.append(app)
    return {**inventory, "apps": apps}


def render(inventory: dict[str, Any], notes: list[str] | None = None,
           errors: list[InputError] | None = None) -> str:
    """The page for an inventory (`AccessResult.as_dict()`); notes and errors shown in the header."""
    return document(title="ca-audit access inventory", style=STYLE, script=SCRIPT,
                    body=[_header(inventory, list(notes or []), list(errors or [])), BODY],
                    data_id="access-data", data=shown(inventory))


BODY = """<main>
<noscript><p>The app table needs JavaScript; use <code>ca-audit access --format table</code> instead.</p></noscript>
<section class="controls" aria-label="Filters">
<div class="field"><label for="q">Search</label>
<input id="q" type="search" placeholder="app, profile, permission set, user" autocomplete="off"></div>
<div class="field"><label for="pu">Permitted users</label><select id="pu"><option value="">all policies</option>
<option value="admin_approved">admin approved</option><option value="self_authorized">self authorized</option>
<option value="unknown">unknown</option></select></div>
</section>
<p class="legend">CAN USE counts active users who are not frozen. LAST LOGIN: successful OAuth logins in the
last 90 days. Select an app's name (Enter or Space) to see its details. Each app's user lists show at most
the @SHOWN@ most relevant users (search finds those); the complete lists are in
<code>ca-audit access --format csv</code> and <code>--format json</code>.</p>
<p id="status" class="status" role="status" aria-live="polite"></p>
<div class="wrap"><table id="apps"><caption>Apps, widest exposure first</caption>
<thead><tr id="head"></tr></thead><tbody id="rows"></tbody></table></div>
</main>""".replace("@SHOWN@", str(USERS_SHOWN))

STYLE = """
:root{color-scheme:light}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2937;background:#fff}
header,main{padding:10px 20px}
h1{font-size:1.4em;margin:4px 0 4px}h2{font-size:1.1em;margin:12px 0 4px}h3{font-size:1.05em;margin:0 0 6px}
h4{margin:10px 0 4px}.lead{margin:0 0 8px}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}.meta dt{font-weight:600}
.meta dd{margin:0}.errors{color:#7f1d1d}
.controls{display:flex;flex-wrap:wrap;gap:10px 18px;align-items:flex-end;margin:6px 0}
.field{display:flex;flex-direction:column;gap:2px}label{font-weight:600}
input,select,button{font:inherit}input[type=search]{min-width:18em}
:focus-visible{outline:3px solid #2563eb;outline-offset:1px}
.status{margin:4px 0;font-weight:600}.legend{color:#4b5563;margin:4px 0}
.wrap{overflow:auto;border:1px solid #d1d5db}
table{border-collapse:collapse}caption{text-align:left;font-weight:600;padding:4px}
th,td{border:1px solid #e5e7eb;padding:3px 8px;text-align:left;vertical-align:top}
#apps thead th{background:#f9fafb;position:sticky;top:0}
th button{background:none;border:0;padding:2px;cursor:pointer;font-weight:600;text-align:left}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
.app{background:none;border:0;padding:0;text-align:left;cursor:pointer;color:#1d4ed8;text-decoration:underline}
td.n{text-align:right}
.tag{display:inline-block;padding:0 6px;border-radius:3px;border:1px solid #6b7280}
.p-self_authorized,.c-all_users{background:#fee2e2;color:#7f1d1d;border-color:#b91c1c}
.p-admin_approved{background:#dcfce7;color:#14532d;border-color:#15803d}
.p-unknown,.c-unknown{background:#fef3c7;color:#78350f;border-color:#b45309}
.u-off{color:#6b7280}
tr.on>th{background:#dbeafe}tr.detail>td{background:#fafafa}
.panel{max-width:min(70em,94vw);padding:6px 4px}
.panel dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0 0 8px}.panel dd{margin:0}
.panel table{margin:4px 0 2px}.capped{margin:0 0 8px;color:#4b5563}.panel th{background:#f3f4f6}
@media print{
 .controls,noscript{display:none}
 body{font-size:11px}.wrap{overflow:visible;border:0}#apps thead th{position:static}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 tr{break-inside:avoid}thead{display:table-header-group}
 .app{color:#000;text-decoration:none}th button{padding:0}
 th[aria-sort] button::after{content:""}
}
"""

SCRIPT = r"""
(function () {
"use strict";
var D = JSON.parse(document.getElementById("access-data").textContent);
var apps = D.apps || [];
var POLICY = {admin_approved: "admin approved", self_authorized: "self authorized"};
var KIND = {connected_app: "connected app", external_client_app: "external client app"};
var state = {q: "", pu: "", key: "exposure", dir: 1}, open = {}, hay = [];
// the DOM helpers both pages share (formats/_page.py DOM_HELPERS)
function policy(a) { return a.permitted_users || "unknown"; }
function policyWord(a) { return POLICY[policy(a)] || policy(a); }
function day(t) { return t ? String(t).slice(0, 10) : ""; }
function grants(a) {
  var g = a.assigned || {};
  return (g.profiles || []).length + (g.permission_sets || []).length + (g.permission_set_groups || []).length;
}
function canUse(a) {
  var c = a.can_use || {}, n = c.count === null || c.count === undefined ? "?" : String(c.count);
  if (c.scope === "all_users") return "all active users (" + n + ")";
  if (c.scope === "assigned") return n + " assigned";
  return "unknown";
}
function rank(a) { var s = (a.can_use || {}).scope; return s === "all_users" ? 0 : s === "unknown" ? 1 : 2; }
apps.forEach(function (a, i) {
  var g = a.assigned || {}, parts = [a.name, KIND[a.kind] || a.kind, policyWord(a)];
  parts = parts.concat(g.profiles || [], g.permission_sets || [], g.permission_set_groups || []);
  ((a.can_use || {}).users || []).forEach(function (u) { parts.push(u.username); parts = parts.concat(u.via || []); });
  ((a.uses || {}).users || []).forEach(function (u) { parts.push(u.username); });
  (a.integration_users || []).forEach(function (u) { parts.push(u.username); });
  hay[i] = parts.join("\n").toLowerCase();
});
var COLS = [
  ["name", "App", function (a) { return a.name.toLowerCase(); }],
  ["kind", "Kind", function (a) { return a.kind; }],
  ["policy", "Permitted users", function (a) { return policy(a); }],
  ["exposure", "Can use", function (a) { return [rank(a), -((a.can_use || {}).count || 0)]; }],
  ["grants", "Grants", function (a) { return -grants(a); }],
  ["users", "Token users", function (a) { return -(a.uses || {}).token_users; }],
  ["tokens", "Tokens", function (a) { return -(a.uses || {}).token_count; }],
  ["used", "Last used", function (a) { return (a.uses || {}).last_used || ""; }],
  ["login", "Last login", function (a) { return (a.uses || {}).last_login || ""; }]
];
function cmp(x, y) {
  if (Array.isArray(x)) { for (var i = 0; i < x.length; i++) { var d = cmp(x[i], y[i]); if (d) return d; } return 0; }
  return x < y ? -1 : x > y ? 1 : 0;
}
function sortKey() { for (var i = 0; i < COLS.length; i++) if (COLS[i][0] === state.key) return COLS[i][2]; }
function keep(i) {
  if (state.pu && policy(apps[i]) !== state.pu) return false;
  return !state.q || hay[i].indexOf(state.q) >= 0;
}
function header() {
  COLS.forEach(function (c) {
    var th = add($("head"), el("th")); th.scope = "col";
    var b = add(th, el("button", "", c[1])); b.type = "button"; b.title = "Sort by " + c[1];
    b.setAttribute("data-key", c[0]);
  });
}
function marks() {
  var ths = $("head").children;
  for (var i = 0; i < ths.length; i++) {
    if (ths[i].firstChild.getAttribute("data-key") === state.key)
      ths[i].setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
    else ths[i].removeAttribute("aria-sort");
  }
}
function draw() {
  var shown = [], f = sortKey();
  for (var i = 0; i < apps.length; i++) if (keep(i)) shown.push(i);
  shown.sort(function (x, y) {
    return state.dir * cmp(f(apps[x]), f(apps[y])) ||
      cmp(apps[x].name.toLowerCase(), apps[y].name.toLowerCase()) || x - y;
  });
  var frag = document.createDocumentFragment();
  shown.forEach(function (i) {
    var a = apps[i], u = a.uses || {}, tr = add(frag, el("tr"));
    tr.setAttribute("data-app", i);
    var th = add(tr, el("th")); th.scope = "row";
    var b = add(th, el("button", "app", a.name)); b.type = "button";
    b.setAttribute("aria-expanded", open[i] ? "true" : "false");
    b.setAttribute("aria-controls", "detail-" + i);
    add(tr, el("td", "", KIND[a.kind] || a.kind));
    add(add(tr, el("td")), el("span", "tag p-" + policy(a), policyWord(a)));
    add(add(tr, el("td")), el("span", "tag c-" + ((a.can_use || {}).scope || "unknown"), canUse(a)));
    add(tr, el("td", "n", grants(a)));
    add(tr, el("td", "n", u.token_users));
    add(tr, el("td", "n", u.token_count));
    add(tr, el("td", "", day(u.last_used) || "never"));
    add(tr, el("td", "", day(u.last_login) || "none"));
    if (open[i]) { tr.className = "on"; frag.appendChild(detail(i)); }
  });
  $("rows").textContent = "";
  $("rows").appendChild(frag);
  $("status").textContent = shown.length ? shown.length + " of " + apps.length + " apps shown"
    : "No app matches the filters (" + apps.length + " apps)";
}
function dl(parent, pairs) {
  var d = add(parent, el("dl"));
  pairs.forEach(function (kv) { add(d, el("dt", "", kv[0])); add(d, el("dd", "", kv[1])); });
}
function num(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
// rows: the users the page carries; total: the full list's length (the page keeps the most relevant)
function table(parent, caption, heads, rows, total, order) {
  if (!rows.length) return;
  if (total === undefined || total === null) total = rows.length;
  var t = add(parent, el("table"));
  add(t, el("caption", "", caption + " (" + num(total) + ")"));
  var hr = add(add(t, el("thead")), el("tr"));
  heads.forEach(function (h) { var th = add(hr, el("th", "", h)); th.scope = "col"; });
  var body = add(t, el("tbody"));
  rows.forEach(function (r) {
    var tr = add(body, el("tr"));
    r.forEach(function (cell, c) {
      var x = add(tr, el(c ? "td" : "th", Array.isArray(cell) ? cell[1] : "", Array.isArray(cell) ? cell[0] : cell));
      if (!c) x.scope = "row";
    });
  });
  if (total > rows.length)
    add(parent, el("p", "capped", "Showing " + num(rows.length) + " of " + num(total) + " users, " + order +
      ". The complete list is in ca-audit access --format csv or --format json."));
}
function detail(i) {
  var a = apps[i], g = a.assigned || {}, c = a.can_use || {}, u = a.uses || {};
  var tr = el("tr", "detail"), td = add(tr, el("td"));
  tr.id = "detail-" + i; td.colSpan = COLS.length;
  var box = add(td, el("div", "panel"));
  box.setAttribute("role", "region"); box.setAttribute("aria-label", "Details of " + a.name);
  add(box, el("h3", "", a.name));
  function list(v) { return v && v.length ? v.join(", ") : "none"; }
  dl(box, [["Kind", KIND[a.kind] || a.kind], ["Permitted users", policyWord(a)],
           ["Profiles", list(g.profiles)], ["Permission sets", list(g.permission_sets)],
           ["Permission set groups", list(g.permission_set_groups)]]);
  add(box, el("h4", "", "Who can use it"));
  var scope = c.scope === "all_users" ? "every active user who is not frozen (self authorized)"
    : c.scope === "assigned" ? "users holding an assigned profile, permission set or group"
    : "unknown (the policy or the org's users and assignments were not read)";
  dl(box, [["Scope", scope], ["Count", c.count === null || c.count === undefined ? "unknown" : c.count]]);
  table(box, "Users who can use it", ["User", "Through", "Active", "Frozen", "Counted"],
        (c.users || []).map(function (x) {
          return [x.username, (x.via || []).join(", "), x.active ? "active" : ["inactive", "u-off"],
                  x.frozen ? ["frozen", "u-off"] : "not frozen", x.active && !x.frozen ? "yes" : ["no", "u-off"]];
        }), c.users_total, "active, unfrozen users first");
  table(box, "Assignment expired (not counted)", ["User", "Through", "Expired on"],
        (c.expired || []).map(function (x) { return [x.username, (x.via || []).join(", "), x.expired_on || "?"]; }),
        c.expired_total, "in username order");
  add(box, el("h4", "", "Who uses it"));
  dl(box, [["Token users", u.token_users], ["Tokens", u.token_count], ["Last used", u.last_used || "never"],
           ["Last OAuth login", u.last_login || "none in the last 90 days"]]);
  function known(v, yes, no) { return v === null || v === undefined ? ["not read", "u-off"] : v ? yes : no; }
  table(box, "Token holders", ["User", "Tokens", "Last used", "Active", "Frozen"],
        (u.users || []).map(function (x) {
          return [x.username, x.tokens, x.last_used || "never", known(x.active, "active", ["inactive", "u-off"]),
                  known(x.frozen, ["frozen", "u-off"], "not frozen")];
        }),
        u.users_total, "most recently used first");
  if ((a.integration_users || []).length) {
    add(box, el("h4", "", "Integration users (from the config)"));
    table(box, "Integration users", ["User", "Status"],
          a.integration_users.map(function (x) { return [x.username, x.status]; }));
  }
  return tr;
}
function toggle(i) {
  if (open[i]) delete open[i]; else open[i] = true;
  draw();
  var b = document.querySelector('tr[data-app="' + i + '"] .app');
  if (b) b.focus();
}
header(); marks();
var timer = 0;
$("q").addEventListener("input", function (ev) {
  clearTimeout(timer);
  timer = setTimeout(function () { state.q = ev.target.value.trim().toLowerCase(); draw(); }, 120);
});
$("pu").addEventListener("change", function (ev) { state.pu = ev.target.value; draw(); });
$("head").addEventListener("click", function (ev) {
  var b = ev.target.closest("button");
  if (!b) return;
  var key = b.getAttribute("data-key");
  state.dir = state.key === key ? -state.dir : 1; state.key = key;
  marks(); draw();
});
$("rows").addEventListener("click", function (ev) {
  if (ev.target.closest("tr.detail")) return;
  var b = ev.target.closest("button.app");
  if (b) toggle(+b.closest("tr").getAttribute("data-app"));
});
draw();
document.body.setAttribute("data-ready", "1");
})();
"""
SCRIPT = SCRIPT.replace("// the DOM helpers both pages share (formats/_page.py DOM_HELPERS)\n", DOM_HELPERS)
