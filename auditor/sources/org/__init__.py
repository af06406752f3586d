"""A live org as a source: which org and how to log in (`OrgTarget`), and `read_org`, which logs in
and pulls the org into snapshot data.

This package's face stays light (two defaults, no dataclass, no simple-salesforce): the command
line reads the defaults on every run; `target.OrgTarget` is built only when an org option is
given, and the heavy client is imported only when the org is actually read.

- `auth`: access tokens (sf CLI, a given token, JWT bearer);
- `client`: the session, retries, SOQL paging and Metadata SOAP calls;
- `pull`: what to read, into a snapshot;
- `convert`: snapshot → Apps (shared with offline scans of a snapshot file).
"""

from __future__ import annotations

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_API_VERSION = "66.0"  # Spring '26, pinned: simple-salesforce would default to 59.0
