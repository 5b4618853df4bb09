"""Every built page as a reader sees it: screenshots in headless Chromium at 1280 px and 390 px, and checks.

``python tests/browser.py [_build/html] [--out _build/screenshots]`` opens every HTML page of the built book
at both widths, saves a full-page screenshot of each, and reports what a reader would trip over:

- a raw role or directive (``{glue:text}`...```, ``{cite:t}``, ``{numref}``) left in the text;
- a table that rendered as a paragraph of pipes (``| a | b |`` in a ``<p>``);
- a missing figure (an image that does not load, or a figure without one);
- horizontal overflow (the page wider than the window);
- figures whose text is too small: each image's shown width against its drawn width gives the size on
  screen of its smallest text (the house style's ``legend.fontsize`` at the inline backend's ``figure.dpi``).

It exits 1 if any check fails. It drives Chromium through its DevTools protocol (tornado's websocket
client, which Jupyter already installs), so it needs nothing but a ``chromium`` on the PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

WIDTHS = {"desktop": 1280, "phone": 390}
MIN_TEXT_PX = 9.0  # the smallest text a figure may show on screen at 1280 px

CHECK_JS = r"""
(() => {
  const main = document.querySelector('main') || document.body;
  const text = main.innerText;
  const raw = (text.match(/\{(glue|cite|numref|doc|download|ref)(:\w*)?\}`/g) || []).length;
  const pipes = [...main.querySelectorAll('p')].filter(p => {
    const lines = p.innerText.split('\n').filter(l => /^\s*\|.*\|\s*$/.test(l));
    return lines.length >= 2 || /\|\s*:?-{3,}/.test(p.innerText);
  }).length;
  const imgs = [...main.querySelectorAll('img')];
  const broken = imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(-60));
  const emptyFigures = [...main.querySelectorAll('figure')].filter(f => !f.querySelector('img')).length;
  const figures = imgs.filter(i => i.naturalWidth > 0 && i.closest('figure, .cell_output, .output'))
    .map(i => ({src: i.src.split('/').pop().slice(0, 40), natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
                id: (i.closest('figure') || {}).id || '', top: Math.round(i.getBoundingClientRect().top + window.scrollY)}));
  const overflow = document.documentElement.scrollWidth - window.innerWidth;
  const tables = [...main.querySelectorAll('table')].map(t => Math.round(t.getBoundingClientRect().top + window.scrollY));
  return {raw, pipes, broken, emptyFigures, figures, tables, overflow, height: document.documentElement.scrollHeight};
})()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


class Page:
    """One Chromium tab, driven over the DevTools protocol."""

    def __init__(self, ws):
        self.ws, self.n, self.events = ws, 0, []

    @classmethod
    async def open(cls, port: int) -> "Page":
        from tornado.websocket import websocket_connect

        request = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as r:
            target = json.loads(r.read())
        return cls(await websocket_connect(target["webSocketDebuggerUrl"], max_message_size=512 * 2 ** 20))

    async def call(self, method: str, **params):
        self.n += 1
        await self.ws.write_message(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(await asyncio.wait_for(self.ws.read_message(), 60))
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg.get("method"))

    async def wait_for(self, event: str, timeout: float = 30):
        end = time.monotonic() + timeout
        while event not in self.events and time.monotonic() < end:
            try:
                msg = json.loads(await asyncio.wait_for(self.ws.read_message(), max(0.1, end - time.monotonic())))
            except asyncio.TimeoutError:
                break
            self.events.append(msg.get("method"))
        self.events.clear()


def figure_text_px(natural: float, shown: float) -> float:
    """The size on screen of a figure's smallest text (house style legend font at the inline dpi)."""
    from gancompanion.plotting import STYLE

    return STYLE["legend.fontsize"] * STYLE["figure.dpi"] / 72 * shown / natural


async def check_pages(html: Path, out: Path, port: int, pages: list[Path]) -> list[dict]:
    page = await Page.open(port)
    await page.call("Page.enable")
    results = []
    for path in pages:
        for label, width in WIDTHS.items():
            await page.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1,
                            mobile=width < 600)
            await page.call("Page.navigate", url=path.resolve().as_uri())
            await page.wait_for("Page.loadEventFired")
            await asyncio.sleep(0.5)  # MathJax and fonts
            found = (await page.call("Runtime.evaluate", expression=CHECK_JS, returnByValue=True))["result"]["value"]
            height = min(int(found["height"]), 16000)
            await page.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                            mobile=width < 600)
            shot = await page.call("Page.captureScreenshot", format="png")
            name = str(path.relative_to(html)).replace("/", "__").removesuffix(".html") + f".{label}.png"
            (out / name).write_bytes(base64.b64decode(shot["data"]))
            problems = []
            if found["raw"]:
                problems.append(f"{found['raw']} raw role(s)")
            if found["pipes"]:
                problems.append(f"{found['pipes']} table(s) shown as a paragraph of pipes")
            if found["broken"] or found["emptyFigures"]:
                problems.append(f"missing figures: {found['broken']} {found['emptyFigures']} empty")
            if found["overflow"] > 1:
                problems.append(f"horizontal overflow of {found['overflow']} px")
            small = []
            if label == "desktop":
                for f in found["figures"]:
                    px = figure_text_px(f["natural"], f["shown"])
                    f["text_px"] = round(px, 1)
                    if px < MIN_TEXT_PX:
                        small.append(f"{f['id'] or f['src']} {px:.1f} px")
                if small:
                    problems.append("figure text below 9 px: " + ", ".join(small))
            results.append({"page": str(path.relative_to(html)), "width": width, "screenshot": name,
                            "figures": found["figures"], "tables": found["tables"], "problems": problems})
    return results


def run(html: Path, out: Path) -> list[dict]:
    exe = chromium()
    if exe is None:
        raise RuntimeError("no chromium on the PATH (apt-get install chromium)")
    out.mkdir(parents=True, exist_ok=True)
    pages = sorted(p for p in html.rglob("*.html") if not {"_static", "_sources", "_modules"} & set(p.parts)
                   and p.name not in ("genindex.html", "search.html", "py-modindex.html"))
    port = free_port()
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen([exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                 f"--remote-debugging-port={port}", f"--user-data-dir={profile}", "about:blank"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            return asyncio.run(check_pages(html, out, port, pages))
        finally:
            proc.terminate()
            proc.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", nargs="?", default="_build/html")
    parser.add_argument("--out", default="_build/screenshots")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).parents[1]))
    results = run(Path(args.html), Path(args.out))
    bad = [r for r in results if r["problems"]]
    for r in results:
        print(f"{'FAIL' if r['problems'] else 'ok  '} {r['width']:>4} px {r['page']}: "
              + ("; ".join(r["problems"]) or f"{len(r['figures'])} figure(s)"))
    Path(args.out, "report.json").write_text(json.dumps(results, indent=1))
    print(f"{len(results)} page views, {len(bad)} with problems; screenshots in {args.out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
