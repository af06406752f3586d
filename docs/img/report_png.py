"""Makes docs/img/report.png: the README's screenshot of the real HTML report.

    ca-audit scan sample_configs --output html=report.html
    python docs/img/report_png.py report.html docs/img/report.png

Headless Chromium (Debian's `chromium`) driven by Playwright for Python; the first app of the
matrix (the worst) is opened so its findings show.
"""

import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

source, target = Path(sys.argv[1]), Path(sys.argv[2])
with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path=shutil.which("chromium"))
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(source.resolve().as_uri())
    page.wait_for_selector("body[data-ready]")
    page.locator("#rows tr[data-app] .app").first.click()
    page.screenshot(path=str(target))
    browser.close()
