"""The HTML report renders in a real browser: every figure loads, no table is empty.

Needs headless Chromium and its driver (Debian packages ``chromium`` and
``chromium-driver``; ``.ci/run`` installs them). Elsewhere the test is skipped
with a message saying how to enable it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "caseload.toml"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def driver():
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("headless Chromium not found: install Debian packages chromium and "
                    "chromium-driver to run this test (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1200,900"):
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield drv
    finally:
        drv.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    if not SAMPLE.is_file():
        pytest.skip("data/sample/caseload.toml is missing")
    from caseload.refresh import refresh

    out = tmp_path_factory.mktemp("browser") / "reports"
    refresh(SAMPLE, out_dir=out)
    return out / "index.html"


def test_report_renders(driver, report):
    from selenium.webdriver.common.by import By

    driver.get(report.as_uri())
    assert driver.execute_script("return document.readyState") == "complete"
    images = driver.find_elements(By.TAG_NAME, "img")
    assert images, "the report has no figures"
    broken = [img.get_attribute("alt") for img in images
              if not driver.execute_script(
                  "return arguments[0].complete && arguments[0].naturalWidth > 0", img)]
    assert not broken, f"figures that did not load: {broken}"
    tables = driver.find_elements(By.TAG_NAME, "table")
    assert tables, "the report has no tables"
    empty = [t.get_attribute("id") for t in tables
             if len(t.find_elements(By.CSS_SELECTOR, "tbody tr")) == 0]
    assert not empty, f"tables without rows: {empty}"
    # Self-contained: nothing is fetched from elsewhere.
    external = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => !n.startsWith('data:'))")
    assert external == [], f"external resources loaded: {external}"
