"""A live org as a source: which org and how to log in (`OrgTarget`), and `read_org`, which logs in
and pulls the org into snapshot data.

This module stays light (no simple-salesforce, no requests): the command line builds an
`OrgTarget` on every run that names an org option, and the heavy client is imported only when the
org is actually read.

- `auth`: access tokens (sf CLI, a given token, JWT bearer);
- `client`: the session, retries, SOQL paging and Metadata SOAP calls;
- `pull`: what to read, into a snapshot;
- `convert`: snapshot → Apps (shared with offline scans of a snapshot file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.model import InputError
from auditor.sources.org.auth import DEFAULT_API_VERSION, DEFAULT_LOGIN_URL


@dataclass
class OrgTarget:
    """Which org to read and how to log in; the token is never shown."""

    target_org: str | None = None
    instance_url: str | None = None
    access_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    jwt_key_file: Path | None = None
    username: str | None = None
    login_url: str = DEFAULT_LOGIN_URL
    api_version: str = DEFAULT_API_VERSION

    @property
    def shown(self) -> str:
        """How messages and reports name the org."""
        from auditor.sources.org.redact import redact_url

        if self.target_org:
            return self.target_org
        if self.instance_url:
            return redact_url(self.instance_url)
        return f"{self.username} via JWT" if self.username else "org"


def read_org(target: OrgTarget, integration_users: list[str],
             progress: bool | None = None) -> tuple[dict[str, Any] | None, list[InputError]]:
    """Log in and pull. Returns (snapshot or None, [InputError]) — login and read failures are errors,
    never exceptions, so the audit reports them and exits 2."""
    import sys
    import warnings

    from auditor.sources.org import auth
    from auditor.sources.org.client import OrgReadError, make_session
    from auditor.sources.org.pull import PullSettings, pull

    session = make_session()
    if sys.stderr.isatty() if progress is None else progress:
        sys.stderr.write(f"ca-audit: logging in to {target.shown}\n")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # simple-salesforce warns on approval errors; we explain them
            credentials = _log_in(target, session)
            settings = PullSettings(api_version=target.api_version, integration_users=integration_users,
                                    progress=progress)
            return pull(credentials, settings, session), []
    except (auth.AuthError, OrgReadError) as error:
        from auditor.sources.org.redact import redact

        return None, [InputError(target.shown, None, redact(str(error), [target.access_token]))]


def _log_in(target: OrgTarget, session: Any) -> Any:
    from auditor.sources.org import auth

    if target.target_org:
        return auth.from_sf_cli(target.target_org)
    if target.client_id:
        return auth.from_jwt(session, client_id=target.client_id, key_file=str(target.jwt_key_file),
                             username=target.username or "", login_url=target.login_url)
    return auth.from_access_token(target.instance_url or "", target.access_token or "")
