"""A real browser for tests and doc screenshots: the distribution's headless Chromium, driven over
the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON messages separated by NUL on
file descriptors 3 and 4).

Why not ``chromium --headless --dump-dom --screenshot``: that can neither evaluate JavaScript
(``naturalWidth`` of an image, ``innerText`` as rendered) nor wait for an image to decode. Why not
selenium or playwright: both add a package and a driver process or a bundled browser; the pipe
needs neither, only the ``chromium`` package (Debian: ``apt-get install chromium``).

::

    with Browser() as browser:
        page = browser.open("http://127.0.0.1:8080/")
        page.text()                       # what a person reads
        page.evaluate("document.title")
        page.screenshot(Path("page.png"))
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from reslab.errors import ReslabError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")
TIMEOUT_S = 30.0
#: pipe ends are first moved above this, so placing them on 3 and 4 cannot clobber each other
_HIGH_FD = 10


class BrowserError(ReslabError):
    """Chromium is missing, did not start, or answered a DevTools command with an error."""


def find_chromium() -> str:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserError(
        "no Chromium on PATH: install the distribution's package (apt-get install chromium)"
    )


class Page:
    """One tab, attached with a flat session."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.call(method, params, self.session)

    def goto(self, url: str) -> Page:
        self.call("Page.navigate", url=url)
        self.browser.wait_event("Page.loadEventFired", self.session)
        return self

    def evaluate(self, expression: str) -> Any:
        """The expression's value (promises awaited), as JSON."""
        reply = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression[:60]!r} threw: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def text(self) -> str:
        """The page's text as rendered (``innerText``: hidden elements excluded)."""
        return str(self.evaluate("document.body.innerText"))

    def image(self, element_id: str) -> dict[str, Any] | None:
        """``{complete, naturalWidth, naturalHeight, src}`` of an ``<img>`` once it has loaded or
        failed; None when the page has no such element."""
        return self.evaluate(  # type: ignore[no-any-return]
            f"""(async () => {{
              const img = document.getElementById({json.dumps(element_id)});
              if (!img) return null;
              try {{ await img.decode(); }} catch (e) {{}}
              return {{complete: img.complete, naturalWidth: img.naturalWidth,
                       naturalHeight: img.naturalHeight, src: img.currentSrc}};
            }})()"""
        )

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            width, height = self.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            params["clip"] = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path


class Browser:
    """Headless Chromium for as long as the ``with`` block lasts."""

    def __init__(self, width: int = 1280, height: int = 900, binary: str | None = None) -> None:
        self.width, self.height = width, height
        self.binary = binary or find_chromium()
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        self._profile: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Browser:
        self._profile = tempfile.TemporaryDirectory(prefix="reslab-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        child_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, _HIGH_FD)
        child_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, _HIGH_FD)
        for fd in (to_child_r, from_child_w):
            os.close(fd)

        def place_pipes() -> None:  # in the child, before exec: Chromium reads 3, writes 4
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        args = [
            self.binary,
            "--headless",
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile.name}",
            f"--window-size={self.width},{self.height}",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--mute-audio",
            "about:blank",
        ]
        if os.geteuid() == 0:
            args.insert(2, "--no-sandbox")  # Chromium refuses to sandbox as root (CI containers)
        self._process = subprocess.Popen(  # noqa: S603 - the distribution's browser
            args,
            pass_fds=(3, 4),
            preexec_fn=place_pipes,  # noqa: PLW1509 - only dup2 between fork and exec
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for fd in (child_r, child_w):
            os.close(fd)
        self.call("Browser.getVersion")
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._process is not None:
            with contextlib.suppress(BrowserError):
                self.call("Browser.close")
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        for fd in (self._to_child, self._from_child):
            os.close(fd)
        if self._profile is not None:
            self._profile.cleanup()

    def new_page(self) -> Page:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = Page(self, session["sessionId"])
        page.call("Page.enable")
        page.call(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )
        return page

    def open(self, url: str) -> Page:
        return self.new_page().goto(url)

    # --- the protocol ---------------------------------------------------------------------

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive(method)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def wait_event(self, method: str, session: str | None) -> dict[str, Any]:
        while True:
            for event in self._events:
                if event["method"] == method and event.get("sessionId") == session:
                    self._events.remove(event)
                    return event
            self._events.append(self._receive(method))

    def _receive(self, waiting_for: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT_S
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_child], [], [], max(left, 0))
            if not ready:
                raise BrowserError(
                    f"no answer from Chromium within {TIMEOUT_S:g} s ({waiting_for})"
                )
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium exited while waiting for {waiting_for}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)  # type: ignore[no-any-return]
