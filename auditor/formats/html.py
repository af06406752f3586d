"""`--format html`: one self-contained page for people who would rather look than read.

A header with the verdict, counts by severity, the scanned sources and orgs; a matrix of apps
(rows) × rules (columns) coloured by severity and labelled by letter (colour is never the only
carrier), sortable and filterable in the browser; an app's row opens its findings with message,
`path:line`, why, the fix for that app's kind and references, waived and baselined findings apart,
and for an org scan the repository ↔ org drift and token usage.

Safety: every value from metadata, config or rules travels as JSON in a
`<script type="application/json">` block with `<`, `>`, `&`, U+2028 and U+2029 escaped, and the
page's script puts it on screen with `textContent` only. The few values the static header shows are
HTML-escaped here. A Content-Security-Policy meta tag allows nothing but the inline style and
script, by their sha256 (computed at render time), so the page makes no request and runs no other
code. Usable at thousands of apps: the matrix is paginated and the script builds only the rows on
screen.
"""

from __future__ import annotations

from typing import Any

from auditor import __version__
from auditor.fixtext import fix_for_kind
from auditor.formats._ci import apps_by_finding, counts_by_severity, placements, repo_path, waiver_text
from auditor.formats._page import DOM_HELPERS, content_security_policy, document, script_json, text
from auditor.model import (
    KIND_ABBREVIATIONS,
    KIND_WORDS,
    ORG,
    SEVERITY_WORDS,
    App,
    Finding,
    Report,
)

# Finding states in the embedded data (the script names them the same way).
ACTIVE, WAIVED, BASELINED = 0, 1, 2



class _Texts:
    """Long texts (fixes, paths) stored once and referred to by index: thousands of findings share a
    few dozen fix texts, and an app's findings share its files."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        if text not in self._index:
            self._index[text] = len(self.items)
            self.items.append(text)
        return self._index[text]


def _safe_references(refs: Any) -> list[str]:
    return [str(ref) for ref in (refs or []) if str(ref).strip()]


def _org_fields(app: App) -> dict[str, Any]:
    return {name[4:]: value for name, value in app.values.items()
            if name.startswith("org.") and value is not None and value != []}


def page_data(report: Report) -> dict[str, Any]:
    """Everything the page's script shows, as plain JSON."""
    owners = apps_by_finding(report)
    shown = {id(f) for f in report.findings}
    baselined = [c for c in report.checks if c.finding is not None and id(c.finding) not in shown]
    for check in baselined:
        owners[id(check.finding)] = check.app
    all_findings: list[Finding] = [*report.findings, *(c.finding for c in baselined if c.finding is not None)]
    placed = placements(report, all_findings)

    rule_ids = sorted(set(report.rules) | {f.rule_id for f in all_findings})
    rule_index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    rules = []
    for rule_id in rule_ids:
        rule = report.rules.get(rule_id)
        title = getattr(rule, "title", "") or next((f.title for f in all_findings if f.rule_id == rule_id), "")
        rules.append({"id": rule_id, "title": title, "severity": str(getattr(rule, "severity", "") or ""),
                      "why": getattr(rule, "why", "") or "", "refs": _safe_references(getattr(rule, "references", []))})

    apps: list[dict[str, Any]] = []
    app_index: dict[object, int] = {}
    checks: list[list[str]] = []

    def add_app(app: App | None, finding: Finding | None = None) -> int:
        """The app's row; a finding whose app the report does not list gets a row of its own."""
        key: object = id(app) if app is not None else ("orphan", finding and finding.kind, finding and finding.app)
        if key in app_index:
            return app_index[key]
        app_index[key] = len(apps)
        checks.append(["-"] * len(rule_ids))
        if app is None:
            assert finding is not None
            apps.append({"n": finding.app, "k": finding.kind, "o": finding.origin, "r": "", "p": ""})
            return app_index[key]
        entry: dict[str, Any] = {"n": app.name, "k": app.kind, "o": app.origin, "r": app.root,
                                 "p": repo_path(app.root, app.path)}
        label = app.get("label")
        if label and label != app.name:
            entry["lb"] = str(label)
        if app.notes:
            entry["notes"] = list(app.notes)
        org = _org_fields(app)
        if org:
            entry["org"] = org
        apps.append(entry)
        return app_index[key]

    for app in report.apps:
        add_app(app)
    for check in report.checks:
        index = add_app(check.app)
        if check.rule_id in rule_index:
            checks[index][rule_index[check.rule_id]] = "p"

    texts = _Texts()
    findings = []
    severity_index = {word: i for i, word in enumerate(SEVERITY_WORDS)}
    for finding in all_findings:
        index = add_app(owners.get(id(finding)), finding)
        place = placed[id(finding)]
        state = BASELINED if id(finding) not in shown else WAIVED if finding.waived else ACTIVE
        item: dict[str, Any] = {
            "a": index, "r": rule_index[finding.rule_id], "s": severity_index[str(finding.severity)],
            "m": finding.message, "lp": texts(place.path), "ln": place.location.line or 1, "st": state,
        }
        if report.is_failing(finding):
            item["x"] = 1
        if finding.waived:
            item["w"] = waiver_text(finding.waived_by)
        if finding.notes:
            item["n"] = list(finding.notes)
        fix = " ".join((finding.fix or "").split())
        if fix:
            item["F"] = texts(fix)
            for_kind = fix_for_kind(fix, finding.kind)
            if for_kind and for_kind != fix:
                item["f"] = texts(for_kind)
        findings.append(item)
    for index, entry in enumerate(apps):
        entry["c"] = "".join(checks[index])  # "p": the rule ran (a pass unless a finding says otherwise)

    return {
        "tool": {"name": "ca-audit", "version": __version__},
        "failOn": str(report.fail_on),
        "exitCode": report.exit_code(),
        "severities": list(SEVERITY_WORDS),
        "kinds": {kind: [KIND_ABBREVIATIONS[kind], KIND_WORDS[kind]] for kind in KIND_WORDS},
        "rules": rules,
        "apps": apps,
        "findings": findings,
        "texts": texts.items,
    }


def _verdict(report: Report) -> tuple[str, str, str]:
    code = report.exit_code()
    if code == 2:
        return "v-incomplete", "INCOMPLETE", "some input could not be read; the audit cannot be trusted"
    if code == 1:
        failing = len(report.failing_findings)
        return "v-fail", "FAILED", f"{failing} finding{'s' if failing != 1 else ''} at or above {report.fail_on}"
    return "v-pass", "PASSED", f"nothing at or above {report.fail_on}"


def _header(report: Report) -> str:
    e = text
    css_class, word, reason = _verdict(report)
    active = report.active_findings
    counts = counts_by_severity(active)
    waived = len(report.findings) - len(active)
    shown = {id(f) for f in report.findings}
    baselined = sum(1 for c in report.checks if c.finding is not None and id(c.finding) not in shown)
    org_roots = list(dict.fromkeys(a.root for a in report.apps if a.origin == ORG))
    file_roots = [r for r in report.roots if r not in org_roots]
    chips = "".join(
        f'<li class="chip s{i}"><span class="w">{word}</span> <strong>{counts[word]}</strong></li>'
        for i, word in enumerate(SEVERITY_WORDS))
    extra = [("apps", len(report.apps)), ("findings", len(active)), ("waived", waived)]
    if baselined:
        extra.append(("in the baseline", baselined))
    if report.input_errors:
        extra.append(("input errors", len(report.input_errors)))
    chips += "".join(f'<li class="chip"><span class="w">{e(name)}</span> <strong>{n}</strong></li>'
                     for name, n in extra)
    out = [
        '<header>',
        '<h1>ca-audit report</h1>',
        f'<p class="verdict {css_class}" role="status"><strong>{word}</strong>: {e(reason)}</p>',
        f'<ul class="chips" aria-label="Active findings by severity">{chips}</ul>',
        '<dl class="meta">',
    ]
    if file_roots:
        out.append(f'<dt>Scanned</dt><dd>{", ".join(f"<code>{e(r)}</code>" for r in file_roots)}</dd>')
    if org_roots:
        out.append(f'<dt>Org</dt><dd>{", ".join(f"<code>{e(r)}</code>" for r in org_roots)}</dd>')
    out.append(f'<dt>Fails on</dt><dd>{e(str(report.fail_on))} and above</dd>')
    out.append(f'<dt>Tool</dt><dd>ca-audit {e(__version__)}</dd>')
    out.append('</dl>')
    if report.input_errors:
        out.append('<section class="errors"><h2>Input errors</h2><ul>')
        out += [f'<li><code>{e(error.path)}{f":{error.line}" if error.line else ""}</code> {e(error.message)}</li>'
                for error in report.input_errors]
        out.append('</ul></section>')
    if report.messages:
        out.append('<section class="notes"><h2>Notes</h2><ul>')
        out += [f'<li>{e(message)}</li>' for message in report.messages]
        out.append('</ul></section>')
    out.append('</header>')
    return "\n".join(out)


def render(report: Report) -> str:
    _css_class, word, _reason = _verdict(report)
    return document(title=f"ca-audit report: {word}", style=STYLE, script=SCRIPT,
                    body=[_header(report), BODY], data_id="report-data", data=page_data(report))


__all__ = ["content_security_policy", "page_data", "render", "script_json"]


BODY = """<main>
<noscript><p>The app matrix needs JavaScript; the summary above is complete without it.</p></noscript>
<section class="controls" aria-label="Filters">
<div class="field"><label for="q">Search</label>
<input id="q" type="search" placeholder="app, path, message, rule" autocomplete="off"></div>
<fieldset id="sev"><legend>Severity</legend></fieldset>
<div class="field"><label for="kind">Kind</label><select id="kind"><option value="">all</option></select></div>
<div class="field"><label for="rule">Rule fired</label><select id="rule"><option value="">any</option></select></div>
<div class="field"><label for="size">Apps per page</label><select id="size">
<option>50</option><option selected>100</option><option>250</option><option>500</option></select></div>
</section>
<p class="legend" id="legend"></p>
<p id="status" class="status" role="status" aria-live="polite"></p>
<div class="wrap" id="wrap"><table id="matrix"><caption>Apps × rules</caption>
<thead><tr id="head"></tr></thead><tbody id="rows"></tbody></table></div>
<nav class="pager" aria-label="Pages"><button type="button" id="prev">Previous</button>
<span id="page"></span><button type="button" id="next">Next</button></nav>
<details id="rules"><summary>Rules</summary><table><thead><tr><th scope="col">Rule</th>
<th scope="col">Severity</th><th scope="col">Title</th><th scope="col">Apps with findings</th></tr></thead>
<tbody id="rulerows"></tbody></table></details>
</main>"""

STYLE = """
:root{color-scheme:light}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2937;background:#fff}
header,main{padding:10px 20px}
h1{font-size:1.4em;margin:4px 0 8px}h2{font-size:1.1em;margin:12px 0 4px}h3{font-size:1.05em;margin:0 0 6px}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.verdict{display:inline-block;margin:0 0 8px;padding:6px 12px;border:2px solid;border-radius:4px}
.v-pass{background:#dcfce7;color:#14532d}.v-fail{background:#fee2e2;color:#7f1d1d}
.v-incomplete{background:#fef3c7;color:#78350f}
.chips{list-style:none;margin:0 0 8px;padding:0;display:flex;flex-wrap:wrap;gap:6px}
.chip{border:1px solid #9ca3af;border-radius:12px;padding:1px 10px}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}.meta dt{font-weight:600}
.meta dd{margin:0}.errors{color:#7f1d1d}
.s0{background:#6b21a8;color:#fff}.s1{background:#b91c1c;color:#fff}.s2{background:#fcd34d;color:#422006}
.s3{background:#bfdbfe;color:#1e3a8a}.s4{background:#e5e7eb;color:#1f2937}
.cw{background:#fff;color:#374151;outline:1px dashed #6b7280;outline-offset:-3px}
.cb{background:#f3f4f6;color:#374151;outline:1px dotted #6b7280;outline-offset:-3px}.cp{color:#6b7280}
.controls{display:flex;flex-wrap:wrap;gap:10px 18px;align-items:flex-end;margin:6px 0}
.field{display:flex;flex-direction:column;gap:2px}label,legend{font-weight:600}
fieldset{border:1px solid #d1d5db;padding:2px 8px 4px;margin:0}fieldset label{font-weight:400;margin-right:8px}
input,select,button{font:inherit}select{max-width:24em}input[type=search]{min-width:16em}
:focus-visible{outline:3px solid #2563eb;outline-offset:1px}
.legend span{display:inline-block;min-width:1.6em;text-align:center;margin:0 2px 0 8px;border-radius:3px}
.status{margin:4px 0;font-weight:600}
.wrap{overflow:auto;max-height:75vh;border:1px solid #d1d5db}
table{border-collapse:collapse}#matrix{table-layout:fixed}caption{text-align:left;font-weight:600;padding:4px}
#matrix th,#matrix td{border:1px solid #e5e7eb;padding:0;text-align:center;white-space:nowrap}
#matrix thead th{position:sticky;top:0;background:#f9fafb;z-index:2;vertical-align:bottom}
#matrix thead th:first-child,#matrix tbody th{position:sticky;left:0;z-index:1;background:#fff;text-align:left}
#matrix thead th:first-child{z-index:3;background:#f9fafb}
#matrix td.c{height:1.6em;font-weight:700}#matrix th.rule{width:2.1em}
#matrix th.h-name{width:16em}#matrix th.h-kind{width:5.5em}#matrix th.h-worst{width:5em}
#matrix th.h-count{width:5.5em}#matrix th.h-org{width:7em}
th button{background:none;border:0;padding:4px;cursor:pointer;font-weight:600}
th.rule button{writing-mode:vertical-rl;transform:rotate(180deg)}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
.app{background:none;border:0;padding:3px 6px;text-align:left;cursor:pointer;color:#1d4ed8;text-decoration:underline;
max-width:22em;overflow:hidden;text-overflow:ellipsis}
#matrix tr.on>th{background:#dbeafe}#matrix tbody tr:hover>th{background:#f3f4f6}
td.t{padding:0 6px}
#matrix tr.detail>td{text-align:left;white-space:normal;background:#fafafa}
.panel{position:sticky;left:0;max-width:min(60em,92vw);padding:10px 14px}
.panel dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0 0 8px}.panel dd{margin:0}
.finding{border-left:6px solid #9ca3af;padding:4px 10px;margin:8px 0;background:#fff}
.finding.f0{border-color:#6b21a8}.finding.f1{border-color:#b91c1c}.finding.f2{border-color:#d97706}
.finding.f3{border-color:#2563eb}.finding.f4{border-color:#9ca3af}
.badge{display:inline-block;padding:0 6px;border-radius:3px;font-weight:700;margin-right:6px}
.finding p{margin:3px 0}.k{font-weight:600}
.pager{margin:8px 0;display:flex;gap:12px;align-items:center}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media print{
 .controls,.pager,noscript{display:none}
 body{font-size:11px}.wrap{max-height:none;overflow:visible;border:0}
 #matrix thead th,#matrix tbody th,.panel{position:static}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 tr{break-inside:avoid}thead{display:table-header-group}
 .app{color:#000;text-decoration:none}
 .finding a::after{content:" (" attr(href) ")";font-size:10px}
 details{display:block}details>summary{list-style:none}
}
"""

SCRIPT = r"""
(function () {
"use strict";
var D = JSON.parse(document.getElementById("report-data").textContent);
var SEV = D.severities, LET = ["C", "H", "M", "L", "I"], ACTIVE = 0, WAIVED = 1, BASELINED = 2;
var apps = D.apps, rules = D.rules, F = D.findings, T = D.texts;
var hasOrg = apps.some(function (a) { return a.org; });
var per = apps.map(function () { return {f: [], worst: 9, n: 0, cells: null, hay: null}; });
F.forEach(function (f, i) {
  var p = per[f.a]; p.f.push(i);
  if (f.st === ACTIVE) { p.n++; if (f.s < p.worst) p.worst = f.s; }
});
var state = {q: "", sev: {}, none: true, kind: "", rule: "", key: "worst", dir: 1, page: 0, size: 100};
var open = {}, shown = [];

// the DOM helpers both pages share (formats/_page.py DOM_HELPERS)

// A cell's code: 0-4 an active finding of that severity, 5 waived, 6 in the baseline, 7 passed, 8 not run.
function cells(ai) {
  var p = per[ai];
  if (p.cells) return p.cells;
  var c = [], s = apps[ai].c || "";
  for (var r = 0; r < rules.length; r++) c.push(s.charAt(r) === "p" ? 7 : 8);
  p.f.forEach(function (i) {
    var f = F[i], code = f.st === ACTIVE ? f.s : f.st === WAIVED ? 5 : 6;
    if (code < c[f.r]) c[f.r] = code;
  });
  p.cells = c;
  return c;
}
function cellView(code) {
  if (code < 5) return ["c s" + code, LET[code], SEV[code]];
  if (code === 5) return ["c cw", "W", "waived"];
  if (code === 6) return ["c cb", "B", "in the baseline"];
  if (code === 7) return ["c cp", "\u00b7", "passed"];
  return ["c", "", "not run"];
}
function kindShort(k) { return (D.kinds[k] || [k])[0]; }
function kindWord(k) { return (D.kinds[k] || [k, k])[1]; }
function orgSummary(a) {
  var o = a.org;
  if (!o) return "";
  var drift = (o.differences || []).length, tokens = o["usage.tokens"];
  if (o.compared) return o.present === false ? "not in org" : drift ? "drift: " + drift : "same";
  if (tokens !== undefined) return tokens + " token" + (tokens === 1 ? "" : "s");
  return o.installed === false ? "not installed" : "";
}
function haystack(ai) {
  var p = per[ai], a = apps[ai];
  if (p.hay === null) {
    var parts = [a.n, a.lb || "", a.p, a.r, kindWord(a.k)];
    p.f.forEach(function (i) { parts.push(F[i].m, rules[F[i].r].id); });
    p.hay = parts.join("\n").toLowerCase();
  }
  return p.hay;
}
function keep(ai) {
  var a = apps[ai], p = per[ai];
  if (state.kind && a.k !== state.kind) return false;
  if (state.q && haystack(ai).indexOf(state.q) < 0) return false;
  var rule = state.rule === "" ? -1 : +state.rule;
  var hit = p.f.some(function (i) {
    var f = F[i];
    return f.st === ACTIVE && state.sev[f.s] && (rule < 0 || f.r === rule);
  });
  return hit || (rule < 0 && p.n === 0 && state.none);
}
function order(a, b) { return a < b ? -1 : a > b ? 1 : 0; }
function compare(x, y) {
  var k = state.key, d = 0;
  if (k === "worst") d = per[x].worst - per[y].worst || per[y].n - per[x].n;
  else if (k === "count") d = per[y].n - per[x].n;
  else if (k === "kind") d = order(apps[x].k, apps[y].k);
  else if (k === "org") d = order(orgSummary(apps[x]), orgSummary(apps[y]));
  else if (k !== "name") d = cells(x)[+k] - cells(y)[+k];
  if (!d) d = order(apps[x].n, apps[y].n) || x - y;
  return d * state.dir;
}
function apply() {
  shown = [];
  for (var i = 0; i < apps.length; i++) if (keep(i)) shown.push(i);
  shown.sort(compare);
  var pages = Math.max(1, Math.ceil(shown.length / state.size));
  if (state.page >= pages) state.page = pages - 1;
  draw();
}
function columns() { return 4 + (hasOrg ? 1 : 0) + rules.length; }
function draw() {
  var body = $("rows"), frag = document.createDocumentFragment();
  var start = state.page * state.size, end = Math.min(shown.length, start + state.size);
  for (var n = start; n < end; n++) {
    var ai = shown[n], a = apps[ai], p = per[ai], tr = el("tr");
    tr.setAttribute("data-app", ai);
    var th = add(tr, el("th")); th.scope = "row";
    var b = add(th, el("button", "app", a.n)); b.type = "button";
    if (a.o === "org") add(b, el("span", "sr", " (in the org)"));
    b.setAttribute("aria-expanded", open[ai] ? "true" : "false");
    b.setAttribute("aria-controls", "detail-" + ai);
    b.title = a.n + (a.o === "org" ? " (org: " + a.r + ")" : "");
    add(tr, el("td", "t", kindShort(a.k) + (a.o === "org" ? " \u00b7 org" : "")));
    add(tr, el("td", p.worst < 5 ? "t s" + p.worst : "t", p.worst < 5 ? SEV[p.worst] : "none"));
    add(tr, el("td", "t", p.n));
    if (hasOrg) add(tr, el("td", "t", orgSummary(a)));
    var c = cells(ai);
    for (var r = 0; r < rules.length; r++) {
      var v = cellView(c[r]), td = add(tr, el("td", v[0], v[1]));
      if (v[1] === "") continue;
      add(td, el("span", "sr", " " + rules[r].id + " " + v[2]));
      td.title = rules[r].id + ": " + v[2];
    }
    frag.appendChild(tr);
    if (open[ai]) { tr.className = "on"; frag.appendChild(detailRow(ai)); }
  }
  body.textContent = "";
  body.appendChild(frag);
  var pages = Math.max(1, Math.ceil(shown.length / state.size));
  var total = " (" + apps.length + " in the report)";
  $("status").textContent = shown.length ? "Showing apps " + (start + 1) + "\u2013" + end + " of " + shown.length +
    " that match" + total : "No app matches the filters" + total;
  $("page").textContent = "Page " + (state.page + 1) + " of " + pages;
  $("prev").disabled = state.page === 0;
  $("next").disabled = state.page >= pages - 1;
}
function dl(parent, pairs) {
  var d = add(parent, el("dl"));
  pairs.forEach(function (kv) {
    if (kv[1] === undefined || kv[1] === null || kv[1] === "") return;
    add(d, el("dt", "", kv[0]));
    add(d, el("dd", "", Array.isArray(kv[1]) ? kv[1].join(", ") : kv[1]));
  });
  return d;
}
function link(parent, url) {
  var li = add(parent, el("li"));
  if (/^https?:\/\//i.test(url)) {
    var a = add(li, el("a", "", url)); a.href = url; a.rel = "noopener noreferrer";
  } else li.textContent = url;
}
function labelled(parent, label, text) {
  var p = add(parent, el("p"));
  add(p, el("span", "k", label));
  p.appendChild(document.createTextNode(text));
  return p;
}
function finding(parent, i) {
  var f = F[i], rule = rules[f.r], a = apps[f.a];
  var box = add(parent, el("article", "finding f" + f.s));
  var head = add(box, el("p"));
  add(head, el("span", "badge s" + f.s, SEV[f.s]));
  add(head, el("strong", "", rule.id + (rule.title ? " \u2014 " + rule.title : "")));
  if (f.x) add(head, el("span", "", " (fails the run)"));
  add(box, el("p", "", f.m));
  var where = add(box, el("p"));
  add(where, el("span", "k", "Where: "));
  add(where, el("code", "", T[f.lp] + ":" + f.ln));
  if (f.w) labelled(box, "Waived: ", f.w);
  (f.n || []).forEach(function (note) { labelled(box, "Note: ", note); });
  if (rule.why) labelled(box, "Why: ", rule.why);
  if (f.F !== undefined) {
    var article = a.k === "external_client_app" ? "an " : "a ";
    var split = f.f !== undefined;
    labelled(box, split ? "Fix for " + article + kindWord(a.k) + ": " : "Fix: ", T[split ? f.f : f.F]);
    if (split) {
      var all = add(box, el("details"));
      add(all, el("summary", "", "Fix as written (both kinds)"));
      add(all, el("p", "", T[f.F]));
    }
  }
  if (rule.refs.length) {
    add(box, el("span", "k", "References"));
    var ul = add(box, el("ul"));
    rule.refs.forEach(function (u) { link(ul, u); });
  }
}
function detailRow(ai) {
  var a = apps[ai], p = per[ai], tr = el("tr", "detail"), td = add(tr, el("td"));
  tr.id = "detail-" + ai;
  td.colSpan = columns();
  var box = add(td, el("div", "panel"));
  add(box, el("h3", "", a.n));
  var c = cells(ai), passed = 0, run = 0;
  c.forEach(function (v) { if (v < 8) run++; if (v === 7) passed++; });
  dl(box, [["Kind", kindWord(a.k)], ["Label", a.lb], ["Read from", a.o === "org" ? "org " + a.r : a.r], ["File", a.p],
           ["Rules run", run + " (" + passed + " passed)"], ["Notes", a.notes]]);
  if (a.org) {
    var o = a.org;
    if (o.compared) {
      add(box, el("h4", "", "Repository \u2194 org"));
      if (o.present === false) add(box, el("p", "", "Not in the org."));
      else if (!(o.differences || []).length) add(box, el("p", "", "Same in the repository and the org."));
      else { var ul = add(box, el("ul")); o.differences.forEach(function (d) { add(ul, el("li", "", d)); }); }
    }
    if (o["usage.tokens"] !== undefined) {
      add(box, el("h4", "", "Token usage"));
      var days = o["usage.last_used_days"];
      dl(box, [["Tokens", o["usage.tokens"]], ["Users", o["usage.users"]], ["Use count", o["usage.use_count"]],
               ["Last used", days === undefined ? "never" : days + " day(s) before the org was read"]]);
    }
    var rest = Object.keys(o).filter(function (k) {
      return k !== "compared" && k !== "present" && k !== "differences" && k.indexOf("usage.") !== 0;
    });
    if (rest.length) {
      var more = add(box, el("details"));
      add(more, el("summary", "", "Org data"));
      dl(more, rest.map(function (k) {
        return ["org." + k, typeof o[k] === "boolean" ? (o[k] ? "yes" : "no") : o[k]];
      }));
    }
  }
  [[ACTIVE, "Findings"], [WAIVED, "Waived"], [BASELINED, "In the baseline (known, not counted)"]].forEach(function (g) {
    var list = p.f.filter(function (i) { return F[i].st === g[0]; });
    list.sort(function (x, y) { return F[x].s - F[y].s || F[x].r - F[y].r; });
    if (!list.length && g[0] !== ACTIVE) return;
    add(box, el("h4", "", g[1] + " (" + list.length + ")"));
    list.forEach(function (i) { finding(box, i); });
  });
  return tr;
}
function toggle(ai) {
  if (open[ai]) delete open[ai]; else open[ai] = true;
  var button = document.querySelector('tr[data-app="' + ai + '"] .app');
  draw();
  button = document.querySelector('tr[data-app="' + ai + '"] .app');
  if (button) button.focus();
}
function header() {
  var tr = $("head");
  var cols = [["name", "App"], ["kind", "Kind"], ["worst", "Worst"], ["count", "Findings"]];
  if (hasOrg) cols.push(["org", "Org"]);
  cols.forEach(function (c) { sortable(tr, c[0], c[1], c[1], "h-" + c[0]); });
  rules.forEach(function (r, i) { sortable(tr, String(i), r.id, r.id + (r.title ? ": " + r.title : ""), "rule"); });
}
function sortable(tr, key, text, title, cls) {
  var th = add(tr, el("th", cls)); th.scope = "col";
  var b = add(th, el("button", "", text)); b.type = "button"; b.title = "Sort by " + title;
  b.setAttribute("data-key", key);
}
function marks() {
  var ths = $("head").children;
  for (var i = 0; i < ths.length; i++) {
    var key = ths[i].firstChild.getAttribute("data-key");
    if (key === state.key) ths[i].setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
    else ths[i].removeAttribute("aria-sort");
  }
}
function controls() {
  var sev = $("sev");
  SEV.forEach(function (w, i) {
    state.sev[i] = true;
    var l = add(sev, el("label")), box = add(l, el("input")); box.type = "checkbox"; box.checked = true;
    box.value = String(i); l.appendChild(document.createTextNode(" " + w));
  });
  var nl = add(sev, el("label")), none = add(nl, el("input"));
  none.type = "checkbox"; none.checked = true; none.value = "none";
  nl.appendChild(document.createTextNode(" no findings"));
  sev.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t.value === "none") state.none = t.checked; else state.sev[+t.value] = t.checked;
    state.page = 0; apply();
  });
  Object.keys(D.kinds).forEach(function (k) { var o = add($("kind"), el("option", "", kindWord(k))); o.value = k; });
  rules.forEach(function (r, i) {
    var o = add($("rule"), el("option", "", r.id + (r.title ? " \u2014 " + r.title : "")));
    o.value = String(i);
  });
  $("kind").addEventListener("change", function (ev) { state.kind = ev.target.value; state.page = 0; apply(); });
  $("rule").addEventListener("change", function (ev) { state.rule = ev.target.value; state.page = 0; apply(); });
  $("size").addEventListener("change", function (ev) { state.size = +ev.target.value; state.page = 0; apply(); });
  var timer = 0;
  $("q").addEventListener("input", function (ev) {
    clearTimeout(timer);
    timer = setTimeout(function () { state.q = ev.target.value.trim().toLowerCase(); state.page = 0; apply(); }, 120);
  });
  $("prev").addEventListener("click", function () { if (state.page > 0) { state.page--; draw(); } });
  $("next").addEventListener("click", function () { state.page++; draw(); });
  $("head").addEventListener("click", function (ev) {
    var b = ev.target.closest("button");
    if (!b) return;
    var key = b.getAttribute("data-key");
    state.dir = state.key === key ? -state.dir : 1; state.key = key;
    marks(); apply();
  });
  $("rows").addEventListener("click", function (ev) {
    if (ev.target.closest("tr.detail")) return;
    var tr = ev.target.closest("tr[data-app]");
    if (tr) toggle(+tr.getAttribute("data-app"));
  });
  var lg = $("legend");
  lg.appendChild(document.createTextNode("Cells:"));
  var keys = SEV.map(function (w, i) { return ["c s" + i, LET[i], w]; }).concat([["c cw", "W", "waived"],
    ["c cb", "B", "in the baseline"], ["c cp", "\u00b7", "passed"], ["c", "blank", "rule does not apply"]]);
  keys.forEach(function (v) { add(lg, el("span", v[0], v[1])); lg.appendChild(document.createTextNode(" " + v[2])); });
}
function ruleTable() {
  var counts = rules.map(function () { return {}; });
  F.forEach(function (f) { if (f.st === ACTIVE) counts[f.r][f.a] = 1; });
  var body = $("rulerows");
  rules.forEach(function (r, i) {
    var tr = add(body, el("tr"));
    var th = add(tr, el("th", "", r.id)); th.scope = "row";
    add(tr, el("td", "", r.severity));
    add(tr, el("td", "", r.title));
    add(tr, el("td", "", Object.keys(counts[i]).length));
  });
  $("rules").firstChild.textContent = "Rules (" + rules.length + ")";
}
header(); controls(); ruleTable(); marks(); apply();
document.body.setAttribute("data-ready", "1");
})();
"""
SCRIPT = SCRIPT.replace("// the DOM helpers both pages share (formats/_page.py DOM_HELPERS)\n", DOM_HELPERS)
