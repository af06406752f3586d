"""Benchmark: pull N connected apps from the HTTPS fake org answering every request after a fixed latency.

    python bench/org_pull.py [--apps 300] [--latency 0.05] [--concurrency 4] [--skip-serial]
    python bench/org_pull.py --large [--latency 0.05]    # 300 apps, 20,000 users, 30,000 tokens

The fake org runs in its own process, as a real org would be on another machine, so that its
work does not compete with the client for the interpreter lock, and each answer leaves `latency`
after its request arrived, the fake's own work included (a real org's answer time includes its work).
Prints the request count and wall time of `ca-audit pull` (in-process, and as a separate process, which adds interpreter
start-up and imports) against the floor requests × latency ÷ concurrency, and the same pull
reading apps one by one (batch size 1, one call in flight).
Targets (issue 3): within 1.5× of the floor, and at least 5× faster than one by one.
With --large (issue 11): the enterprise scenario of tests/fakeorg/large.py; prints the requests used
against the documented budget (`request_budget`) and the wall time against the floor.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from auditor.sources.org.auth import from_access_token  # noqa: E402
from auditor.sources.org.pull import PullSettings, pull, request_budget  # noqa: E402
from tests.fakeorg.large import large_org, large_scenario  # noqa: E402
from tests.fakeorg.sample import many_apps_org  # noqa: E402
from tests.fakeorg.server import FakeSalesforce  # noqa: E402


class RemoteFake:
    """A FakeSalesforce served from a child process; `requests` counts what it has answered."""

    def __init__(self, apps: int, latency: float, large: bool = False):
        self.conn, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=_serve, args=(child, apps, latency, large), daemon=True)
        self.process.start()
        self.url, self.token, self.ca_path = self.conn.recv()

    @property
    def request_count(self) -> int:
        self.conn.send("count")
        return self.conn.recv()

    def stop(self) -> None:
        self.conn.send("stop")
        self.process.join(5)


def _serve(conn, apps: int, latency: float, large: bool) -> None:
    data = large_org(large_scenario(apps=apps)) if large else many_apps_org(apps)
    fake = FakeSalesforce(data, latency=latency).start()
    conn.send((fake.url, fake.token, fake.ca_path))
    while (command := conn.recv()) != "stop":
        conn.send(len(fake.requests) if command == "count" else None)
    fake.stop()


def timed_pull(fake: RemoteFake, **settings) -> tuple[float, int, dict]:
    before = fake.request_count
    started = time.perf_counter()
    snap = pull(from_access_token(fake.url, fake.token), PullSettings(integration_users=[], **settings))
    return time.perf_counter() - started, fake.request_count - before, snap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--skip-serial", action="store_true", help="skip the one-by-one comparison")
    parser.add_argument("--large", action="store_true", help="the enterprise scenario (20,000 users, 30,000 tokens)")
    args = parser.parse_args()
    if args.large:
        return large(args)

    fake = RemoteFake(args.apps, args.latency)
    os.environ["REQUESTS_CA_BUNDLE"] = fake.ca_path
    os.environ.pop("CURL_CA_BUNDLE", None)
    try:
        timed_pull(fake, concurrency=args.concurrency)  # warm up: TLS, imports
        wall, requests, snap = timed_pull(fake, concurrency=args.concurrency)
        assert not snap["errors"], snap["errors"]
        assert len(snap["metadata"]["ConnectedApp"]["records"]) == args.apps
        floor = max(requests * args.latency / args.concurrency, 1e-9)
        print(f"apps: {args.apps}   latency per response: {args.latency * 1000:.0f} ms   "
              f"concurrency: {args.concurrency}")
        print(f"pull (in process):  {requests} requests, {wall:.2f} s; floor {requests} × "
              f"{args.latency * 1000:.0f} ms ÷ {args.concurrency} = {floor:.2f} s; ratio {wall / floor:.2f}× "
              f"(target ≤ 1.5×)")

        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, SF_INSTANCE_URL=fake.url, SF_ACCESS_TOKEN=fake.token)
            before = fake.request_count
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "auditor", "pull", "-o", str(Path(tmp, "snap.json"))],
                                  cwd=tmp, env=env, capture_output=True, text=True)
            process_wall = time.perf_counter() - started
            assert done.returncode == 0, done.stderr
            process_requests = fake.request_count - before
        print(f"ca-audit pull (own process): {process_requests} requests, {process_wall:.2f} s "
              f"(includes interpreter start-up and imports); ratio to floor {process_wall / floor:.2f}×")

        if not args.skip_serial:
            serial_wall, serial_requests, _ = timed_pull(fake, concurrency=1, batch_size=1)
            print(f"one by one (batch 1, 1 in flight): {serial_requests} requests, {serial_wall:.2f} s; "
                  f"batched+concurrent is {serial_wall / wall:.1f}× faster (target ≥ 5×)")
    finally:
        fake.stop()


def large(args) -> None:
    scenario = large_scenario(apps=args.apps)
    fake = RemoteFake(args.apps, args.latency, large=True)
    os.environ["REQUESTS_CA_BUNDLE"] = fake.ca_path
    os.environ.pop("CURL_CA_BUNDLE", None)
    try:
        wall, requests, snap = timed_pull(fake, concurrency=args.concurrency)
        assert not snap["errors"], snap["errors"]
        soql = snap["soql"]
        assert len(soql["OauthToken"]) == len(scenario.tokens)
        over = max(sum(1 for t in scenario.tokens if t.app_label == a.label) for a in scenario.apps)
        budget = request_budget(apps=args.apps, users=len(soql["AccessUsers"]), tokens=len(scenario.tokens),
                                apps_over_cap=1, tokens_over_cap=over, login_rows=len(scenario.logins),
                                grants=len(soql["SetupEntityAccess"]), assignment_rows=len(soql["AccessAssignments"]),
                                profile_users=len(soql["AccessUsers"]))
        floor = max(requests * args.latency / args.concurrency, 1e-9)
        print(f"large scenario: {args.apps} apps, {len(scenario.users)} users, {len(scenario.tokens)} tokens "
              f"(one app {over}), {len(scenario.logins)} login rows; latency {args.latency * 1000:.0f} ms; "
              f"concurrency {args.concurrency}")
        print(f"requests: {requests} (budget {budget}: {'within' if requests <= budget else 'OVER'})")
        print(f"wall: {wall:.2f} s; floor {requests} × {args.latency * 1000:.0f} ms ÷ {args.concurrency} = "
              f"{floor:.2f} s; ratio {wall / floor:.2f}× (target ≤ 1.5×)")
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
