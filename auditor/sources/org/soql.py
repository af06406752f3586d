"""SOQL text helpers shared by the org readers: quoting a value, and the date-time literal form."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote_plus

# SOQL goes out as GET …/query/?q=SOQL (simple-salesforce), and Salesforce takes at most 16,384 bytes of
# URI and headers together; a longer URI is "414 URI Too Long" (Help article 000386264, "Maximum number
# of rows returned by SOQL queries over the REST API"). A query we build from many values must keep its
# encoded q= parameter within QUERY_URL_BUDGET: half the limit, leaving room for the path and headers.
QUERY_URL_BUDGET = 8000


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def url_length(soql: str) -> int:
    """The length of a query as it travels in the URL (form-encoded, as requests encodes params)."""
    return len(quote_plus(soql))


def soql_time(when: dt.datetime | None) -> str:
    assert when is not None
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> dt.datetime:
    text = text.strip().replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and ":" not in text[-5:]:
        text = text[:-2] + ":" + text[-2:]
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
