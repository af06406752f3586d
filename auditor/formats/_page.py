"""The safe building blocks of ca-audit's self-contained HTML pages (`scan --format html`,
`access --format html`).

Every value a page shows travels as JSON in a `<script type="application/json">` block
(`script_json`: `<`, `>`, `&`, U+2028 and U+2029 escaped, so no `</script>`, `<!--` or entity can
form) and the page's script puts it on screen with `textContent` only. A Content-Security-Policy
meta tag allows nothing but the page's one inline style and one inline script, by their sha256, so
the page makes no request and runs no other code. `document` assembles the page around them.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from typing import Any

from auditor.formats._safe import no_commands, visible


def script_json(data: Any) -> str:
    """JSON that can sit inside <script>: no `</script>`, `<!--` or entity can form, and the
    line separators some parsers treat as line ends are escaped too. A page printed to a CI log
    must not run a workflow command either: the JSON is one line (no data line starts with `::`)
    and `##[` is written `##\\u005b` (`#` is never JSON syntax, so that is always inside a string)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("##[", "##\\u005b"))


def sha256_source(text: str) -> str:
    """A CSP source expression allowing exactly this inline text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(style: str, script: str) -> str:
    return (f"default-src 'none'; script-src {sha256_source(script)}; style-src {sha256_source(style)}; "
            "base-uri 'none'; form-action 'none'")


def text(value: object) -> str:
    """A data value as HTML text: control characters shown as escapes (a newline from a file name
    must not start a line of a CI log), then HTML-escaped."""
    return html.escape(visible(value))


def document(*, title: str, style: str, script: str, body: list[str], data_id: str, data: Any) -> str:
    """The whole page: `title` is escaped here; `body` is trusted markup (escape its values with
    `text`); `data` is embedded as JSON under the element id `data_id`. A page may be printed to a
    CI log: no line of the body can run a workflow command (`&#58;` and `&#91;` read as `:` and `[`)."""
    policy = content_security_policy(style, script)
    body = [no_commands("\n".join(body), colon="&#58;", bracket="&#91;")]
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{html.escape(title, quote=False)}</title>",
        f"<style>{style}</style>",
        "</head>",
        "<body>",
        *body,
        f'<script type="application/json" id="{html.escape(data_id)}">{script_json(data)}</script>',
        f"<script>{script}</script>",
        "</body>",
        "</html>",
        "",
    ])


# Small DOM helpers both pages' scripts use: text goes in through textContent only, never as markup.
DOM_HELPERS = """function $(id) { return document.getElementById(id); }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function add(parent, child) { parent.appendChild(child); return child; }
"""
