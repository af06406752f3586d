"""Which org to read and how to log in: what the org options say, checked, before anything is read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from auditor.sources.org import DEFAULT_API_VERSION, DEFAULT_LOGIN_URL


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
