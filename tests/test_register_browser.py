"""``issue-status-bot register`` end to end: the real command as a process, a real headless Chromium
(Debian's, driven through its chromedriver), the fake GitHub's registration pages.

CI installs the browser (.ci/run), so there the test never skips; elsewhere it skips when Chromium is absent.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from bot.ops.env_file import read_env_file
from bot.settings import Settings
from bot.testing.fake_github import FakeGitHub
from tests.test_register import APP_YAML, HOOK, free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER) and not os.environ.get("CI"):
    pytest.skip("Debian's chromium and chromium-driver are not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402  (only where the browser is)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402


def click_through(local_page: str) -> str:
    """What a person does: open the page, register, confirm on GitHub; returns the install link's target."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    # An explicit driver: Selenium Manager must not try to download one.
    browser = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        wait = WebDriverWait(browser, 20)
        browser.get(local_page)
        browser.find_element(By.ID, "register").click()
        wait.until(expected_conditions.presence_of_element_located((By.ID, "create"))).click()
        install = wait.until(expected_conditions.presence_of_element_located((By.ID, "install")))
        return str(install.get_attribute("href"))
    finally:
        browser.quit()


async def test_a_person_registers_the_app_in_a_real_browser(github: FakeGitHub, tmp_path: Path) -> None:
    env_file, port = tmp_path / "registered.env", free_port()
    # Output to a pipe is block-buffered then: the first line must still come while the command waits.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "register", "--github-url", github.web_url, "--webhook-url", HOOK),
        *("--port", str(port), "--env-file", str(env_file), "--app-yaml", str(APP_YAML)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(20):
            first = (await process.stdout.readline()).decode()
        local_page = f"http://127.0.0.1:{port}/"
        assert first.startswith(f"Open {local_page} in your browser"), first

        install = await asyncio.to_thread(click_through, local_page)
        async with asyncio.timeout(20):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert process.returncode == 0, err.decode()
    html_url = f"{github.web_url}/apps/issue-status-bot"
    assert install == f"{html_url}/installations/new"
    assert out.decode().splitlines()[-1] == f"Install it on your repositories: {install}"
    assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
    settings = Settings.from_env(read_env_file(env_file))
    assert settings.app_id in github.world.apps
    assert settings.webhook_secret.decode() not in (first + out.decode() + err.decode())
