"""Journeys against the real application, started the way the README starts it.

`shebao demo` runs as a subprocess — it builds the demo city, then starts the real gunicorn
server and the real background worker as fresh processes — on a free port, with its own data
directory, on SQLite or (when DATABASE_URL points at PostgreSQL) on a fresh PostgreSQL
database of its own. Tests drive a real Chromium through each role's work.

Every response seen by a journey page is watched: an HTTP 5xx, or a request slower than
`SLOW_SECONDS`, fails the test; so does a worker crash or a server worker timeout in the
demo's log while the test ran.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import CHROMIUM, require


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.journey)


PASSWORD = "Shebao@2026demo"  # the published demo credential
PEOPLE = int(os.environ.get("SHEBAO_JOURNEY_PEOPLE", "20000"))
SLOW_SECONDS = 5.0
START_TIMEOUT = 600.0
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "journeys"

# What a crash looks like in the demo's log: the supervisor restarting a dead worker,
# gunicorn killing a hung or crashed worker, Django's log of a 500. (A job that fails on a
# bad file logs its traceback on purpose: that is not a crash.)
CRASH = re.compile(
    r"后台工作进程已退出|WORKER TIMEOUT|was sent SIG|Segmentation fault|Internal Server Error"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _postgres_database(base_url: str, name: str) -> str:
    """Create an empty database `name` on the server of `base_url`; return its URL."""
    import psycopg

    parts = urlsplit(base_url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _postgres_drop(base_url: str, name: str) -> None:
    import psycopg

    admin = urlunsplit(urlsplit(base_url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Demo:
    """The running demo: its URL, data directory and a way to run `shebao` commands on it."""

    url: str
    data_dir: Path
    env: dict[str, str]
    log_path: Path
    password: str = PASSWORD
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def run(
        self, *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run `shebao ARGS…` against the demo's database and data directory."""
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "shebao", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"shebao {' '.join(args)} exited {done.returncode}:\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", errors="replace")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    require(CHROMIUM.exists(), f"Chromium not installed at {CHROMIUM}")
    data_dir = tmp_path_factory.mktemp("journey-demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["SHEBAO_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    base_url = os.environ.get("DATABASE_URL", "")
    pg_name = ""
    if base_url.startswith("postgres"):
        pg_name = f"shebao_journey_{os.getpid()}"
        env["DATABASE_URL"] = _postgres_database(base_url, pg_name)
    else:
        env.pop("DATABASE_URL", None)
    port = _free_port()
    log_path = data_dir / "demo.log"
    log = log_path.open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "shebao", "demo", "--people", str(PEOPLE), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    running = Demo(url=url, data_dir=data_dir, env=env, log_path=log_path, process=process)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                tail = running.log_text()[-5000:]
                pytest.fail(f"shebao demo exited {process.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(f"{url}/login/", timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"shebao demo not serving after {START_TIMEOUT:.0f} s")
            time.sleep(1)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
        if pg_name:
            _postgres_drop(base_url, pg_name)


@pytest.fixture(scope="session")
def chromium_browser(demo: Demo, chromium: Any) -> Any:
    """The session's Chromium (tests/conftest.py), once the demo is serving."""
    return chromium


class _Watch:
    """Collects what must not happen while a page is used: 5xx answers and slow requests."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def attach(self, page: Any) -> None:
        page.on("response", self._on_response)
        page.on("requestfinished", self._on_finished)

    def _on_response(self, response: Any) -> None:
        if response.status >= 500:
            self.problems.append(f"HTTP {response.status} {response.request.method} {response.url}")

    def _on_finished(self, request: Any) -> None:
        timing = request.timing
        end = timing.get("responseEnd", -1)
        if end is not None and end > SLOW_SECONDS * 1000:
            self.problems.append(f"slow ({end / 1000:.1f} s) {request.method} {request.url}")


@pytest.fixture
def _journey_watch(demo: Demo) -> Iterator[_Watch]:
    watch = _Watch()
    offset = demo.log_size()
    yield watch
    crashes = [line for line in demo.log_since(offset).splitlines() if CRASH.search(line)]
    problems = watch.problems + [f"demo log: {line}" for line in crashes]
    if problems:
        pytest.fail("journey problems:\n" + "\n".join(problems[:50]), pytrace=False)


def _new_page(browser: Any, demo: Demo, watch: _Watch) -> tuple[Any, Any]:
    context = browser.new_context(
        base_url=demo.url,
        locale="zh-CN",
        viewport={"width": 1366, "height": 900},
        accept_downloads=True,
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    watch.attach(page)
    return context, page


# The last TOTP time step used per demo account: a code is accepted once (a replay is a
# wrong code and counts toward the lockout), so a second login within the same 30 seconds
# uses the next step's code, which the server accepts one step early, or waits for it.
_TOTP_LAST_STEP: dict[str, int] = {}


def _totp(secret_base32: str, counter: int) -> str:
    """RFC 6238 (SHA-1, 6 digits), as the user's authenticator app computes it."""
    mac = hmac.new(base64.b32decode(secret_base32), struct.pack(">Q", counter), "sha1").digest()
    offset = mac[-1] & 0x0F
    return str((struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**6).zfill(6)


def demo_totp_code(data_dir: Path, username: str) -> str:
    """A fresh one-time code of a demo account, from the published `demo_totp.json`."""
    secrets_file = json.loads((data_dir / "demo_totp.json").read_text(encoding="utf-8"))
    secret = secrets_file["accounts"][username]
    while True:
        now = int(time.time() // 30)
        step = max(now, _TOTP_LAST_STEP.get(username, -1) + 1)
        if step <= now + 1:
            _TOTP_LAST_STEP[username] = step
            return _totp(secret, step)
        time.sleep(30 - time.time() % 30 + 0.2)


def log_in(
    page: Any, username: str, password: str = PASSWORD, *, data_dir: Path | None = None
) -> None:
    """Password, then — for card-centre, bank, auditor and administrator accounts — the
    one-time code of the account's demo authenticator (`demo_totp.json`)."""
    page.goto("/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login/" not in url or "/login/code/" in url)
    if "/login/code/" in page.url:
        assert data_dir is not None, f"{username} needs a one-time code: pass the demo's data_dir"
        page.get_by_role("textbox", name="动态口令").fill(demo_totp_code(data_dir, username))
        page.get_by_role("button", name="验证并登录").click()
        page.wait_for_url(lambda url: "/login/" not in url)


@pytest.fixture
def login(
    chromium_browser: Any, demo: Demo, _journey_watch: _Watch
) -> Iterator[Callable[[str], Any]]:
    """`login("village")` → a fresh page signed in as that demo account."""
    contexts: list[Any] = []

    def open_as(username: str) -> Any:
        context, page = _new_page(chromium_browser, demo, _journey_watch)
        contexts.append(context)
        log_in(page, username, demo.password, data_dir=demo.data_dir)
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def anon(chromium_browser: Any, demo: Demo, _journey_watch: _Watch) -> Iterator[Callable[[], Any]]:
    """`anon()` → a fresh page with no session (the public self-service pages)."""
    contexts: list[Any] = []

    def open_page() -> Any:
        context, page = _new_page(chromium_browser, demo, _journey_watch)
        contexts.append(context)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def shot() -> Callable[[Any, str], Path]:
    """`shot(page, "name")` saves a full-page screenshot under var/screenshots/journeys."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def wait_for_text(page: Any, test_id: str, done: tuple[str, ...], seconds: float = 240) -> str:
    """Reload `page` until the element `test_id` reads one of `done` (a job's status), or
    `seconds` pass; returns the last text read."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + seconds
    while True:
        text = str(page.get_by_test_id(test_id).inner_text()).strip()
        if text in done or time.monotonic() > deadline:
            return text
        time.sleep(2)
        try:
            page.reload()
        except PlaywrightError:
            # Pages following a job reload themselves when it finishes (registration.js);
            # a reload of ours racing with it is aborted, and the page is fresh either way.
            page.wait_for_load_state()
