"""Open a page in headless Chromium and report what a reader's browser would see, for the page tests.

Chromium is driven over its DevTools protocol on ``--remote-debugging-pipe`` (fd 3: commands in, fd 4:
replies and events out, NUL-separated JSON), which needs neither a websocket client nor Selenium or
Playwright: only the ``chromium`` binary. The protocol, unlike ``--dump-dom``/``--screenshot``, lets the
test see every console message, uncaught exception and network request the page makes, which is what a
self-contained report must be checked for.
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import image as mpimg

#: the URL schemes a self-contained page may load from (its own file and inlined data)
LOCAL_SCHEMES = ("data:", "file:", "about:")
#: a figure whose pixels vary less than this (standard deviation, 0..1 per channel) is taken as blank
BLANK_STD = 0.01
#: Chromium's own background traffic off, and no name resolves, so a page that reaches out fails fast
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
    "--disable-default-apps", "--disable-extensions", "--disable-sync", "--mute-audio", "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1280,900", "--remote-debugging-pipe",
]


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable on PATH, or $CHROMIUM."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Figure:
    """One <img> of the page: whether it loaded, its natural size and its pixels' spread on screen."""

    src: str  # the first characters of its URL
    alt: str
    complete: bool
    natural_width: int
    pixel_std: float = 0.0

    @property
    def drawn(self) -> bool:
        return self.complete and self.natural_width > 0 and self.pixel_std > BLANK_STD


@dataclass
class PageReport:
    """What loading one page did."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    screenshot: bytes = b""
    page_std: float = 0.0
    title: str = ""
    text: str = ""
    #: the values of the expressions ``open_page`` was asked to evaluate on the loaded page, by name
    measured: dict[str, Any] = field(default_factory=dict)

    @property
    def remote_requests(self) -> list[str]:
        """Requests to anything but the page's own file and inlined data."""
        return [u for u in self.requests if not u.startswith(LOCAL_SCHEMES)]

    def problems(self) -> list[str]:
        """Every way the page falls short of self-contained, error-free and drawn; empty when it does not."""
        found = [f"console error: {e}" for e in self.console_errors]
        found += [f"network request: {u}" for u in self.remote_requests]
        found += [f"figure not drawn: {f.alt or f.src} (complete={f.complete}, naturalWidth={f.natural_width}, "
                  f"pixel spread {f.pixel_std:.4f})" for f in self.figures if not f.drawn]
        if self.page_std <= BLANK_STD:
            found.append(f"blank screenshot (pixel spread {self.page_std:.4f})")
        return found


def pixel_std(png: bytes) -> float:
    """The standard deviation of a PNG's RGB values (0..1): about 0 for a blank area."""
    pixels = mpimg.imread(io.BytesIO(png), format="png")
    return float(np.asarray(pixels)[..., :3].std()) if pixels.size else 0.0


class BrowserError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium with one page, spoken to over the DevTools pipe. Use as a context manager."""

    def __init__(self, executable: str | None = None, timeout: float = 30.0) -> None:
        self.executable = executable or find_chromium()
        if not self.executable:
            raise BrowserError("no chromium on PATH")
        self.timeout = timeout
        self._next_id = 0
        self._buffer = b""
        self.events: list[dict[str, Any]] = []
        self.session = ""

    def __enter__(self) -> "Chromium":
        self._profile = tempfile.TemporaryDirectory(prefix="gilbench-chromium-")
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # the child's fds 3 and 4 are made from copies at 10 and above, so no copy can overwrite another
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_browser_r, from_browser_w)]
        for fd in (to_browser_r, from_browser_w):
            os.close(fd)

        def wire() -> None:
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [self.executable, *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, preexec_fn=wire, close_fds=False,
        )
        for fd in high:
            os.close(fd)
        self._out, self._in = to_browser_w, from_browser_r
        try:
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.process.poll() is None:
                try:
                    self.call("Browser.close", session=False, timeout=5)
                except (BrowserError, OSError):
                    pass
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            for fd in (self._out, self._in):
                os.close(fd)
            self._log.close()
            self._profile.cleanup()

    def log_tail(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def _send(self, message: dict[str, Any]) -> None:
        os.write(self._out, json.dumps(message).encode() + b"\0")

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no reply from chromium in time; its log:\n{self.log_tail()}")
            ready, _, _ = select.select([self._in], [], [], left)
            if ready:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise BrowserError(f"chromium closed the pipe (exit {self.process.poll()}); its log:\n{self.log_tail()}")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: bool = True, timeout: float | None = None, **params: Any) -> dict[str, Any]:
        """Send one command (to the page's session unless ``session`` is false) and return its result;
        events that arrive meanwhile are kept in ``events``."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session and self.session:
            message["sessionId"] = self.session
        self._send(message)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, timeout: float | None = None) -> dict[str, Any]:
        """The first event ``method`` not yet consumed (waiting for it)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        for i, event in enumerate(self.events):
            if event["method"] == method:
                return self.events.pop(i)
        while True:
            event = self._receive(deadline)
            if event.get("method") == method:
                return event
            if "method" in event:
                self.events.append(event)

    def settle(self, seconds: float) -> None:
        """Collect the events that arrive in the next ``seconds``."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                event = self._receive(deadline)
                if "method" in event:
                    self.events.append(event)
        except BrowserError:
            if self.process.poll() is not None:
                raise

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, clip: dict[str, float] | None = None) -> bytes:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": True}
        if clip:
            params["clip"] = {**clip, "scale": 1}
        return base64.b64decode(self.call("Page.captureScreenshot", **params)["data"])


FIGURES_JS = """
Array.from(document.images).map(img => {
  const r = img.getBoundingClientRect();
  return {src: img.src.slice(0, 60), alt: img.alt, complete: img.complete, naturalWidth: img.naturalWidth,
          x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height};
})
"""


def _message(event: dict[str, Any]) -> str | None:
    """The text of a console error, uncaught exception or error log entry; None for anything else."""
    method, params = event["method"], event.get("params", {})
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        return " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
    if method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        return details.get("exception", {}).get("description") or details.get("text", "uncaught exception")
    if method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        entry = params["entry"]
        return f"{entry.get('text', '')} {entry.get('url', '')}".strip()
    return None


def open_page(path: Path | str, executable: str | None = None, timeout: float = 30.0,
              evaluate: dict[str, str] | None = None) -> PageReport:
    """Load ``path`` (a file) in a fresh headless Chromium and report its console errors, its requests,
    its figures (each one's load state and on-screen pixel spread), a full-page screenshot and the value
    of each JavaScript expression in ``evaluate`` (name -> expression, run by the test, not the page)."""
    url = Path(path).resolve().as_uri()
    with Chromium(executable, timeout) as browser:
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable")
        browser.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
        navigated = browser.call("Page.navigate", url=url)
        if navigated.get("errorText"):
            raise BrowserError(f"cannot open {url}: {navigated['errorText']}")
        browser.wait_for("Page.loadEventFired")
        browser.settle(0.3)  # messages logged just after the load event
        report = PageReport(url=url)
        report.title = browser.evaluate("document.title")
        report.text = browser.evaluate("document.body ? document.body.innerText : ''")
        report.measured = {name: browser.evaluate(expression) for name, expression in (evaluate or {}).items()}
        for info in browser.evaluate(FIGURES_JS):
            figure = Figure(info["src"], info["alt"], bool(info["complete"]), int(info["naturalWidth"]))
            if info["width"] >= 1 and info["height"] >= 1:
                figure.pixel_std = pixel_std(browser.screenshot(
                    {k: float(info[k]) for k in ("x", "y", "width", "height")}))
            report.figures.append(figure)
        report.screenshot = browser.screenshot()
        report.page_std = pixel_std(report.screenshot)
        for event in browser.events:
            text = _message(event)
            if text is not None:
                report.console_errors.append(text)
            if event["method"] == "Network.requestWillBeSent":  # data: URLs cut short: they are the figures
                report.requests.append(event["params"]["request"]["url"][:160])
    return report
