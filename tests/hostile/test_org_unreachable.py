"""An org that cannot be reached is one error naming it, not one per query retried three times."""

from __future__ import annotations

import json
import socket

from tests.conftest import run_cli


def closed_port() -> int:
    with socket.socket() as probe:  # bound then closed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_org_is_one_error_naming_it():
    url = f"https://127.0.0.1:{closed_port()}"
    done = run_cli("scan", "--instance-url", url, "--access-token", "00Dx!secret-token", "--format", "json",
                   env={"CA_AUDIT_RETRY_BACKOFF": "0"})
    assert done.returncode == 2, done.stderr
    report = json.loads(done.stdout)
    assert [e["message"] for e in report["input_errors"]] == [
        f"cannot reach {url}: connection failed (ConnectionError) (gave up after 3 attempts)"]
    assert "secret-token" not in done.stdout + done.stderr and "Traceback" not in done.stderr
