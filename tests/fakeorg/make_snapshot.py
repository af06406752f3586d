"""Regenerate sample_configs/org.snapshot.json: `ca-audit pull` of the sample org (the fake
Northwind org), run from sample_configs/ so that its .ca-audit.yaml names the integration users.

    python -m tests.fakeorg.make_snapshot
"""

from __future__ import annotations

import json
import os
import sys

from auditor.sources.snapshot import write

from .sample import SAMPLE, sample_org
from .server import FakeSalesforce

SAMPLE_INSTANCE_URL = "https://northwind.my.salesforce.com"


def main() -> int:
    fake = FakeSalesforce(sample_org()).start()
    os.environ["REQUESTS_CA_BUNDLE"] = fake.ca_path
    os.environ.pop("CURL_CA_BUNDLE", None)
    os.environ["SF_INSTANCE_URL"], os.environ["SF_ACCESS_TOKEN"] = fake.url, fake.token
    try:
        from typer.testing import CliRunner

        from auditor.cli import app

        os.chdir(SAMPLE)
        result = CliRunner().invoke(app, ["pull", "-o", "org.snapshot.json"])
        sys.stderr.write(result.stderr)
        if result.exit_code == 0:
            # The fake listens on a random local port; show the sample as the org it stands for.
            path = SAMPLE / "org.snapshot.json"
            data = json.loads(path.read_text(encoding="utf-8"))
            data["provenance"]["instance_url"] = data["provenance"]["target"] = SAMPLE_INSTANCE_URL
            write(data, path)
        return result.exit_code
    finally:
        fake.stop()


if __name__ == "__main__":
    sys.exit(main())
