"""The HTML report at scale: its size and how long Chromium takes to show it, for N generated apps.

    python bench/html_report.py [--apps 3000] [--runs 5] [--keep report.html]

Apps are generated from sample_configs/ (its connected apps and external client apps, renamed, with
their `.ca-audit.yaml` declarations), so about as many rules fire per app as in the sample. The report
is written by the console script (`ca-audit scan DIR --output html=FILE`). Timings use public means
only: wall time around Playwright's navigation to the file URL until the page's script has drawn the
matrix, the page's own Navigation Timing entry, and wall time around a search, a page turn and
opening an app. Chromium is Debian's (`chromium` on PATH, or CA_AUDIT_CHROMIUM); Playwright never
downloads a browser. Without Chromium only the size is printed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, bench_env, ca_audit  # noqa: E402

SAMPLE = REPO / "sample_configs"
DEFAULT = SAMPLE / "force-app" / "main" / "default"
ECA_PARTS = {  # folder: file name suffix after the app name
    "externalClientApps": ".eca-meta.xml",
    "extlClntAppGlobalOauthSets": "_glbloauth.ecaGlblOauth-meta.xml",
    "extlClntAppOauthSettings": "_oauth.ecaOauth-meta.xml",
    "extlClntAppOauthPolicies": "_oauthPlcy.ecaOauthPlcy-meta.xml",
    "extlClntAppPolicies": "_plcy.ecaPlcy-meta.xml",
}


def generate(folder: Path, count: int) -> None:
    """`count` apps cycling through the sample's apps, each under a new name."""
    import yaml

    config = yaml.safe_load((SAMPLE / ".ca-audit.yaml").read_text(encoding="utf-8"))
    declared = config.get("apps", {})
    connected = sorted((DEFAULT / "connectedApps").glob("*.connectedApp-meta.xml"))
    external = sorted(p.name.removesuffix(".eca-meta.xml")
                      for p in (DEFAULT / "externalClientApps").glob("*.eca-meta.xml"))
    shapes = [("ca", p.name.removesuffix(".connectedApp-meta.xml")) for p in connected] + [("eca", n) for n in external]
    target = folder / "force-app" / "main" / "default"
    for sub in ["connectedApps", *ECA_PARTS]:
        (target / sub).mkdir(parents=True)
    apps = {}
    for index in range(count):
        kind, source = shapes[index % len(shapes)]
        name = f"{source}_{index:05d}"
        if kind == "ca":
            text = (DEFAULT / "connectedApps" / f"{source}.connectedApp-meta.xml").read_text(encoding="utf-8")
            (target / "connectedApps" / f"{name}.connectedApp-meta.xml").write_text(text, encoding="utf-8")
        else:
            for sub, suffix in ECA_PARTS.items():
                text = (DEFAULT / sub / f"{source}{suffix}").read_text(encoding="utf-8").replace(source, name)
                (target / sub / f"{name}{suffix}").write_text(text, encoding="utf-8")
        if source in declared:
            apps[name] = declared[source]
    shutil.copy(SAMPLE / "sfdx-project.json", folder / "sfdx-project.json")
    config = {"fail_on": config.get("fail_on", "high"), "rules": config.get("rules", {}), "apps": apps}
    (folder / ".ca-audit.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")


def chromium() -> str | None:
    named = os.environ.get("CA_AUDIT_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


IN_PAGE = """(function () {
  var start = performance.now();
  %s;
  void document.body.offsetHeight;
  return performance.now() - start;
})()"""
INTERACTIONS = {
    "filter by kind (all apps), in page": "var k = document.getElementById('kind'); k.value = 'external_client_app';"
                                          " k.dispatchEvent(new Event('change', {bubbles: true}))",
    "clear the filter, in page": "var k = document.getElementById('kind'); k.value = '';"
                                 " k.dispatchEvent(new Event('change', {bubbles: true}))",
    "next page, in page": "document.getElementById('next').click()",
    "sort all apps by name, in page": "document.querySelector('#head button[data-key=name]').click()",
    "open an app's findings, in page": "document.querySelector('#rows tr[data-app] .app').click()",
}


def browser_timings(report: Path, runs: int, executable: str) -> dict[str, float]:
    from playwright.sync_api import expect, sync_playwright

    samples: dict[str, list[float]] = {}

    def note(name: str, seconds: float) -> None:
        samples.setdefault(name, []).append(seconds)

    url = report.resolve().as_uri()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
            requests: list[str] = []
            page.on("request", lambda r, requests=requests: requests.append(r.url))
            start = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("body[data-ready]")
            note("open: navigation to matrix drawn (wall)", time.perf_counter() - start)
            timing = json.loads(page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])"))
            note("Navigation Timing: domContentLoadedEventEnd", timing["domContentLoadedEventEnd"] / 1000)
            note("Navigation Timing: loadEventEnd", timing["loadEventEnd"] / 1000)
            rows = page.locator("#rows tr[data-app]")

            start = time.perf_counter()
            page.get_by_label("Search").fill("_01234")
            expect(rows).to_have_count(1)
            note("search typed to rows redrawn, wall (incl. the 120 ms debounce)", time.perf_counter() - start)
            page.get_by_label("Search").fill("")
            expect(rows).to_have_count(100)
            # In the page: the event handler's work plus the style and layout it causes (reading
            # offsetHeight forces them), timed with performance.now().
            for name, action in INTERACTIONS.items():
                note(name, page.evaluate(IN_PAGE % action) / 1000)
            if errors or set(requests) != {url}:
                raise SystemExit(f"the page logged errors {errors} or made requests {requests}")
            page.close()
        browser.close()
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="copy the generated report here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "project"
        generate(folder, args.apps)
        report = Path(temporary) / "report.html"
        start = time.perf_counter()
        done = subprocess.run([*ca_audit(), "scan", str(folder), "--output", f"html={report}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=bench_env())
        scan_seconds = time.perf_counter() - start
        if done.returncode not in (0, 1):
            raise SystemExit(f"ca-audit failed ({done.returncode}): {done.stderr.decode()[-500:]}")
        data = report.read_bytes()
        block = data.split(b'id="report-data">', 1)[1].split(b"</script>", 1)[0]
        embedded = json.loads(block)
        print(f"apps: {len(embedded['apps'])} (generated {args.apps}), findings: {len(embedded['findings'])}, "
              f"rules: {len(embedded['rules'])}")
        print(f"ca-audit scan --output html=… (scan and render): {scan_seconds:.2f} s")
        packed = len(gzip.compress(data))
        print(f"file size: {len(data) / 1e6:.2f} MB ({len(data):,} bytes; gzip {packed / 1e6:.2f} MB)")
        if args.keep:
            shutil.copy(report, args.keep)
        executable = chromium()
        try:
            import playwright  # noqa: F401
        except ImportError:
            executable = None
        if executable is None:
            print("browser timings skipped: needs Chromium (apt-get install chromium) and Playwright (.[test])")
            return
        timings = browser_timings(report, args.runs, executable)
        print(f"headless Chromium ({executable}), median of {args.runs} loads from a file URL:")
        for name, seconds in timings.items():
            print(f"  {name}: {seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main()
