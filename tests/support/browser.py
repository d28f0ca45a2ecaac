"""Debian's headless Chromium, driven through its chromedriver (selenium), for the dashboard's page tests.

The page is behind basic auth: the header goes on every request through the DevTools protocol, as a browser
that has logged in would send it. `window.alert` and friends are replaced before any page script runs, so a
test can tell whether anything on the page tried to open a dialog.
"""

from __future__ import annotations

import base64
import shutil
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# As the machine notes say: without the background-networking flags Chromium keeps trying Google's hosts.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1440,2000",
)
DIALOG_TRAP = """
window.__dialogs = [];
for (const name of ["alert", "confirm", "prompt"]) {
  window[name] = (message) => { window.__dialogs.push(name + ":" + String(message)); };
}
"""


def chromium_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists() and shutil.which(Path(path).name) is None:
            return f"{path} not found: `make test` installs chromium and chromium-driver (tools/bootstrap.sh --test)"
    return None


class Browser:
    def __init__(self, profile_dir: Path, user: str, password: str):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile_dir}")
        self.driver = webdriver.Chrome(
            options=options,
            service=Service(CHROMEDRIVER if Path(CHROMEDRIVER).exists() else shutil.which("chromedriver")),
        )
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.driver.execute_cdp_cmd("Network.enable", {})
        self.driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {token}"}})
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DIALOG_TRAP})

    def open(self, url: str) -> None:
        self.driver.get(url)

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def text(self, selector: str) -> str | None:
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", selector)

    def wait_for(self, predicate, timeout_s: float = 20, what: str = "the page") -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")

    def dialogs(self) -> list[str]:
        return self.js("return window.__dialogs || [];")

    def screenshot(self, path: Path) -> Path:
        self.driver.save_screenshot(str(path))
        return path

    def close(self) -> None:
        self.driver.quit()
