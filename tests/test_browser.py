"""The book as a reader meets it: every page of the built HTML opened in headless Chromium.

For every HTML page of the QUICK book (the ``book_html`` fixture in ``conftest.py``) the checker

- waits until the page, its images and MathJax have finished, then checks that every ``<img>`` has loaded
  (``complete`` and ``naturalWidth > 0``);
- checks that every ``.math`` element was typeset by MathJax (holds an ``mjx-container``, no ``mjx-merror``) and that
  the visible text (outside code blocks) holds no raw TeX (``$$``, ``\\begin``, ``\\(``, ``\\[``, an inline ``$..\\cmd..$``)
  and no unrendered MyST role (``{glue:text}``, ``{numref}``, ...);
- checks that every cross-reference was resolved (Sphinx leaves an unresolved one as a ``.xref`` outside any link) and
  that every same-site link, stylesheet and script points to an existing file and, with a ``#fragment``, to an
  existing id in the target page;
- counts the ``{glue:text}`` roles in the page's source (``_sources/``) and checks that as many non-empty pasted
  values appear, in the weight of the text around them (not bold); likewise the keys of ``{cite}`` roles against
  the rendered citations;
- checks that every results table (``ddlib.tables``, class ``ddlib-table``) fits the page without scrolling;
- lays the page out at each width of :data:`OVERFLOW_WIDTHS` (a phone, 390 px, and a laptop, 1280 px) and records
  every horizontal overflow of text or equations: the page scrolling sideways, a display equation wider than its
  column, a block of text (paragraph, list item, heading, caption) whose content runs past it (code blocks and
  results tables scroll by design and are not counted);
- saves a full-page screenshot to ``_build/screenshots/<page>.png`` and, at 390 px, to
  ``_build/screenshots/390/<page>.png`` (``$DDLIB_SCREENSHOTS`` overrides the folder);
- records every link that leaves the book (no button may lead to the placeholder repository ``OWNER``), and a link
  to the book's PDF (``make pdf`` puts it beside the pages) whose file is absent separately from broken links.

The pages are served from a loopback HTTP server (127.0.0.1, a free port), as a reader's browser would get them.
Chromium is Debian's ``chromium`` with ``chromedriver`` (``$DDLIB_CHROMIUM`` and ``$DDLIB_CHROMEDRIVER`` override the
paths). Without them the tests skip with the reason, unless ``DDLIB_REQUIRE_BROWSER=1`` (CI), which makes them fail.

The checker is also a command: ``python tests/test_browser.py _build/html`` checks a built book and prints a report.
The last tests show that each kind of defect is caught: a deleted image, a broken cross-reference, a broken link
fragment, MathJax missing, a glued number missing.
"""
from __future__ import annotations

import functools
import html.parser
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import pytest
import yaml
from conftest import tex_missing

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
                  "--window-size=1280,1000"]
PAGE_TIMEOUT_S = 30.0
# Console messages of the theme stack that readers cannot see and that do not change the page (each one checked):
KNOWN_CONSOLE = (
    "/favicon.ico",  # the browser asks every site for one; the book has none
    "Identifier 'THEBE_JS_URL' has already been declared",  # sphinx-thebe 0.3.1 writes its config script twice
    "Got invalid theme mode",  # pydata-sphinx-theme on a fresh browser profile (no stored light/dark choice)
)
MAX_SCREENSHOT_HEIGHT = 20000  # px; longer pages are cut there
#: Viewport widths (px) at which every page is checked for horizontal overflow: a phone and a laptop.
OVERFLOW_WIDTHS = (390, 1280)
#: Pages whose overflow is still expected until their chapter's pass (issue 21); their tests are xfail, not skipped.
#: Empty: the display equations of chapters 4, 6 and 8 were split, and every page fits at both widths.
OVERFLOW_PENDING: tuple = ()
# The book's PDF, which `make pdf` (not `make book`) copies beside the pages: latex_documents.targetname as .pdf
BOOK_PDF = Path(yaml.safe_load((ROOT / "_config.yml").read_text())["latex"]["latex_documents"]["targetname"]
                ).with_suffix(".pdf").name

# raw TeX or MyST markup that must not survive into the text a reader sees (code blocks excepted)
RAW_PATTERNS = {
    "$$": re.compile(r"\$\$"),
    "\\begin": re.compile(r"\\begin\{"),
    "\\( or \\[": re.compile(r"\\[(\[]"),
    "inline $...$": re.compile(r"\$[^$\n]{0,200}\\[A-Za-z]+[^$\n]{0,200}\$"),
    "MyST role": re.compile(r"\{(?:glue|numref|eq|ref|doc|cite|math|term|download)(?::[a-z]+)?\}`?"),
    "MyST directive": re.compile(r"```\{|:::\{"),
}
_META_REFRESH = re.compile(r'<meta[^>]+http-equiv="refresh"[^>]+url=([^"\s>]+)"', re.I)
GLUE_ROLE = re.compile(r"\{glue(?::text)?\}`[^`]+`")
CITE_ROLE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")


# --------------------------------------------------------------------------------------------------------------------
# finding the browser


def find_browser() -> tuple[str | None, str | None, str]:
    """Paths of Chromium and chromedriver and, when one is missing, the reason (else ``""``)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None, None, "the Python package selenium is not installed (pip install -e '.[test]')"
    chromium = os.environ.get("DDLIB_CHROMIUM") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = os.environ.get("DDLIB_CHROMEDRIVER") or shutil.which("chromedriver")
    if not chromium:
        return None, driver, "no Chromium found (Debian: apt-get install chromium chromium-driver)"
    if not driver:
        return chromium, None, "no chromedriver found (Debian: apt-get install chromium-driver)"
    return chromium, driver, ""


def require_browser() -> tuple[str, str]:
    """Chromium and chromedriver, or skip (fail when ``DDLIB_REQUIRE_BROWSER=1``)."""
    chromium, driver, reason = find_browser()
    if reason:
        if os.environ.get("DDLIB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"DDLIB_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return chromium, driver


# --------------------------------------------------------------------------------------------------------------------
# the checker


@dataclass
class PageReport:
    """What the browser found on one page; ``problems()`` lists every defect (empty: the page is fine)."""

    page: str
    title: str = ""
    images: int = 0
    broken_images: list = field(default_factory=list)
    math: int = 0
    untypeset_math: list = field(default_factory=list)
    raw_text: list = field(default_factory=list)
    unresolved_refs: list = field(default_factory=list)
    links: list = field(default_factory=list)  # (kind, url) of every same-site link and resource
    broken_links: list = field(default_factory=list)
    external_links: list = field(default_factory=list)  # every <a href> that leaves the book
    missing_pdf: list = field(default_factory=list)  # links to BOOK_PDF where make pdf has not put it
    glue_expected: int | None = None
    glue_found: int = 0
    empty_glue: int = 0
    bold_glue: list = field(default_factory=list)  # glued values set in bold although the text around is not
    tables: int = 0
    overflowing_tables: list = field(default_factory=list)  # (caption, content width, box width)
    cites_expected: int | None = None
    cites_found: int = 0
    console_errors: list = field(default_factory=list)
    mathjax: str = ""
    screenshot: str | None = None
    text_chars: int = 0
    overflow: dict = field(default_factory=dict)  # viewport width -> [(kind, text, content px, column px)]

    def overflow_problems(self, width: int | None = None) -> list[str]:
        """The horizontal overflows found at ``width`` (default: every width checked)."""
        widths = [width] if width is not None else sorted(self.overflow)
        return [f"runs past the page at {w} px ({kind}, {content} px in a {column} px column): {text!r}"
                for w in widths for kind, text, content, column in self.overflow.get(w, [])]

    def problems(self) -> list[str]:
        out = [f"image not loaded: {s}" for s in self.broken_images]
        out += [f"math not typeset: {s}" for s in self.untypeset_math]
        out += [f"raw markup in the text ({k}): {s!r}" for k, s in self.raw_text]
        out += [f"unresolved cross-reference: {s!r}" for s in self.unresolved_refs]
        out += [f"broken link: {s}" for s in self.broken_links]
        out += [f"link to the book's PDF, which is not beside the pages (run make pdf): {s}" for s in self.missing_pdf]
        if self.glue_expected is not None and self.glue_found != self.glue_expected:
            out.append(f"glued numbers: the source has {self.glue_expected} glue roles, the page shows "
                       f"{self.glue_found}")
        if self.empty_glue:
            out.append(f"{self.empty_glue} glued values are empty")
        out += [f"glued value in bold: {s!r}" for s in self.bold_glue]
        out += [f"table wider than the page ({w} px in a {b} px box): {c!r}" for c, w, b in self.overflowing_tables]
        if self.cites_expected is not None and self.cites_found < self.cites_expected:
            out.append(f"citations: the source cites {self.cites_expected} keys, the page links "
                       f"{self.cites_found}")
        out += [f"browser console: {s}" for s in self.console_errors]
        out += self.overflow_problems()
        return [f"{self.page}: {p}" for p in out]


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("id", "name") and v:
                self.ids.add(v)


@functools.lru_cache(maxsize=None)
def _ids_in(path: Path) -> frozenset:
    p = _Ids()
    p.feed(path.read_text(errors="replace"))
    return frozenset(p.ids)


def _source_markdown(html_dir: Path, page: str) -> str | None:
    """The Markdown a page was made from (its ``_sources`` copy: the .md, or the .ipynb's Markdown cells)."""
    stem = page[: -len(".html")]
    for cand in (html_dir / "_sources" / f"{stem}.ipynb", html_dir / "_sources" / f"{stem}.md",
                 html_dir / "_sources" / f"{stem}.md.txt"):
        if cand.is_file():
            if cand.suffix == ".ipynb":
                nb = json.loads(cand.read_text())
                return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
            return cand.read_text()
    return None


class _MountHandler(http.server.SimpleHTTPRequestHandler):
    """Serves each mounted book folder under its own prefix, ``/<key>/...`` (so no page is ever served from the
    browser's cache of another folder)."""

    def translate_path(self, path):
        _, key, rest = (urlsplit(path).path.split("/", 2) + [""])[:3]
        mount = self.server.mounts.get(key)
        if mount is None:
            return "/nonexistent/" + key
        self.directory = mount
        return super().translate_path("/" + rest)

    def log_message(self, *args):
        pass


# Runs in the page once everything has loaded: waits for lazy images and MathJax, then reports what it finds.
_PAGE_JS = r"""
const done = arguments[arguments.length - 1];
const timeoutMs = arguments[0];
const t0 = Date.now();
for (const img of document.images) { img.loading = "eager"; }
const imagesSettled = Promise.all([...document.images].map(img => img.complete ? null :
    new Promise(r => { img.addEventListener("load", r); img.addEventListener("error", r); })));
let loadedAt = 0;  // deferred scripts (MathJax) have run once the page is complete
function mathjaxSettled() {
  return new Promise(resolve => {
    (function wait() {
      if (!document.querySelector(".math")) return resolve("no math on the page");
      if (window.MathJax && MathJax.startup && MathJax.startup.promise)
        return MathJax.startup.promise.then(() => resolve("typeset"), e => resolve("MathJax error: " + e));
      if (Date.now() - t0 > timeoutMs) return resolve("MathJax did not finish");
      if (document.readyState === "complete" && !loadedAt) loadedAt = Date.now();
      if (Date.now() - t0 > timeoutMs || (loadedAt && Date.now() - loadedAt > 3000))
        return resolve("MathJax never loaded");
      setTimeout(wait, 100);
    })();
  });
}
const skip = new Set(["SCRIPT", "STYLE", "PRE", "CODE", "TEXTAREA", "NOSCRIPT", "MJX-CONTAINER", "TEMPLATE"]);
function visibleText(root) {
  const parts = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, { acceptNode(node) {
    for (let e = node.parentElement; e; e = e.parentElement) {
      if (skip.has(e.tagName) || e.classList.contains("highlight")) return NodeFilter.FILTER_REJECT;
    }
    return NodeFilter.FILTER_ACCEPT;
  }});
  while (walker.nextNode()) parts.push(walker.currentNode.nodeValue);
  return parts.join("");
}
const deadline = new Promise(r => setTimeout(() => r("timeout"), timeoutMs));
Promise.all([Promise.race([imagesSettled, deadline]), Promise.race([mathjaxSettled(), deadline])])
    .then(([images, mathjax]) => {
  const describe = e => (e.getAttribute("src") || e.getAttribute("href") || e.outerHTML.slice(0, 120));
  const maths = [...document.querySelectorAll(".math")];
  const main = document.querySelector("main") || document.body;
  done({
    title: document.title,
    mathjax: mathjax === "timeout" ? "MathJax did not finish in time" : mathjax,
    images_settled: images !== "timeout",
    images: document.images.length,
    broken_images: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(describe),
    math: maths.length,
    untypeset_math: maths.filter(m => !m.querySelector("mjx-container") || m.querySelector("mjx-merror"))
                         .map(m => m.textContent.trim().slice(0, 120)),
    text: visibleText(document.body),
    text_chars: main.innerText.length,
    unresolved_refs: [...document.querySelectorAll(".xref")].filter(x => !x.closest("a"))
                         .map(x => x.textContent.trim().slice(0, 120)),
    links: [...document.querySelectorAll("a[href]")].map(a => ["a", a.href])
        .concat([...document.querySelectorAll("link[href]")].map(l => ["link", l.href]))
        .concat([...document.querySelectorAll("script[src]")].map(s => ["script", s.src])),
    glue: [...document.querySelectorAll(".pasted-text, .pasted-inline")].map(g => g.textContent.trim()),
    bold_glue: [...document.querySelectorAll(".pasted-text, .pasted-inline")]
        .filter(g => parseInt(getComputedStyle(g).fontWeight) >= 600 && !g.closest("strong, b, th, caption, h1, h2, h3"))
        .map(g => g.textContent.trim()),
    tables: [...document.querySelectorAll(".ddlib-table")].map(t =>
        [(t.querySelector("caption") || {}).textContent || "", t.scrollWidth, t.clientWidth]),
    cites: document.querySelectorAll(".bibtex-citation a, a.bibtex-citation, span.citation a").length,
    height: Math.max(document.documentElement.scrollHeight, document.body.scrollHeight),
  });
});
"""


# Runs in the page at one viewport width: fits the equations as ddlib.js does on a resize, then reports every text
# block and display equation that runs past its column, and the page itself scrolling sideways.
_OVERFLOW_JS = r"""
if (window.ddlibFitEquations) window.ddlibFitEquations();
const main = document.querySelector("article.bd-article") || document.querySelector("main") || document.body;
const column = main.getBoundingClientRect();
const out = [];
const short = e => e.textContent.replace(/\s+/g, " ").trim().slice(0, 100);
const page = document.documentElement.scrollWidth;
if (page > window.innerWidth + 1) out.push(["page", "the page scrolls sideways", page, window.innerWidth]);
for (const eq of document.querySelectorAll('mjx-container[display="true"]')) {
  const holder = eq.closest("div.math") || eq.parentElement;
  const box = holder.getBoundingClientRect();
  const math = (eq.querySelector("mjx-math") || eq).getBoundingClientRect();
  const eqno = holder.querySelector("span.eqno");  // floats at the right: the formula must not run under it
  const no = eqno ? eqno.getBoundingClientRect() : null;
  const right = no && no.width > 0 && no.top < math.bottom && no.bottom > math.top ? Math.min(box.right, no.left)
                                                                                  : box.right;
  const clipped = eq.scrollWidth > eq.clientWidth + 1;  // MathJax's box scrolls (its scroll bar may be hidden)
  if (math.width > 0 && (clipped || math.right > right + 1 || math.left < box.left - 1 || math.right > column.right + 1))
    out.push(["equation", short(holder), Math.round(Math.max(math.width, eq.scrollWidth)),
              Math.round(Math.min(right - box.left, eq.clientWidth))]);
}
for (const el of main.querySelectorAll("p, li, dt, dd, h1, h2, h3, h4, figcaption, blockquote")) {
  if (el.closest("pre, div.highlight, .ddlib-table, table, mjx-container")) continue;
  const r = el.getBoundingClientRect();
  if (r.width === 0) continue;
  // inline formulas and code do not break: measure them too (a block's scrollWidth may not count them)
  const widest = Math.max(r.right, ...[...el.querySelectorAll('mjx-container:not([display="true"]), code')]
                                        .map(x => x.getBoundingClientRect().right));
  if (el.scrollWidth > el.clientWidth + 1 || widest > Math.min(r.right, column.right) + 1)
    out.push(["text", short(el), Math.round(Math.max(el.scrollWidth, widest - r.left)), Math.round(el.clientWidth)]);
}
return out;
"""


class BookChecker:
    """Headless Chromium and a loopback HTTP server that open the pages of built books and check them.

    ``with BookChecker() as c: reports = c.check_book(html_dir, screenshots=folder)``; the module docstring lists
    the checks.
    One browser serves any number of books (each under its own URL prefix).
    """

    def __init__(self, chromium: str | None = None, driver: str | None = None):
        found = find_browser()
        self.chromium, self.driver_path = chromium or found[0], driver or found[1]
        if not (self.chromium and self.driver_path):
            raise RuntimeError(found[2])

    def __enter__(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _MountHandler)
        self._server.mounts = {}
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self._origin = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._profile = tempfile.mkdtemp(prefix="ddlib-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = self.chromium
        for flag in CHROMIUM_FLAGS + [f"--user-data-dir={self._profile}"]:
            opts.add_argument(flag)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        try:
            self.browser = webdriver.Chrome(options=opts, service=Service(executable_path=self.driver_path))
        except Exception:
            self._close_server()
            raise
        self.browser.set_script_timeout(PAGE_TIMEOUT_S + 5)
        self.browser.set_page_load_timeout(PAGE_TIMEOUT_S)
        return self

    def _close_server(self):
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __exit__(self, *exc):
        try:
            self.browser.quit()
        finally:
            self._close_server()

    @staticmethod
    def pages(html_dir: Path) -> list[str]:
        """Every HTML page of a book, relative to ``html_dir`` (theme and source folders excluded)."""
        return sorted(p.relative_to(html_dir).as_posix() for p in html_dir.rglob("*.html")
                      if not p.relative_to(html_dir).parts[0].startswith("_"))

    def check_book(self, html_dir: str | os.PathLike, pages: list[str] | None = None,
                   screenshots: str | os.PathLike | None = None) -> list[PageReport]:
        """Check ``pages`` (default: every page) of the book in ``html_dir`` and the links on them; with
        ``screenshots``, save a full-page PNG of each page there."""
        html = Path(html_dir).resolve()
        if not html.is_dir() or not any(html.glob("*.html")):
            raise ValueError(f"html_dir must be a built HTML book (a folder with .html pages), got {html}")
        key = f"b{len(self._server.mounts)}"
        self._server.mounts[key] = str(html)
        base = f"{self._origin}{key}/"
        shots = Path(screenshots) if screenshots else None
        reports = [self._check_page(html, base, p, shots) for p in (pages if pages is not None else self.pages(html))]
        self._resolve_links(html, base, reports)
        return reports

    def _check_page(self, html: Path, base: str, page: str, shots: Path | None) -> PageReport:
        self.browser.get_log("browser")  # drain the messages of earlier pages
        self.browser.get(base + page)
        redirect = _META_REFRESH.search((html / page).read_text(errors="replace"))
        if redirect:  # a redirect page (index.html): check the page it leads to, once the browser is there
            target = urljoin(base + page, redirect.group(1))
            t0 = time.perf_counter()
            # wait until the *document* of the target has loaded: the URL changes when the navigation starts, and a
            # check script started in the old document would die with it (a script timeout, seen under load)
            while True:
                try:
                    href, state = self.browser.execute_script("return [location.href, document.readyState];")
                except Exception:  # noqa: BLE001  (the document went away mid-call: the navigation is under way)
                    href, state = "", ""
                if urldefrag(href)[0] == urldefrag(target)[0] and state == "complete":
                    break
                if time.perf_counter() - t0 > PAGE_TIMEOUT_S:
                    raise TimeoutError(f"{page} did not redirect to {target}")
                time.sleep(0.05)
        t0 = time.perf_counter()
        try:
            data = self.browser.execute_async_script(_PAGE_JS, int(PAGE_TIMEOUT_S * 1000))
        except Exception as exc:  # name the page: a timeout without it cannot be followed up
            raise RuntimeError(f"{page}: the page check did not finish ({type(exc).__name__} after "
                               f"{time.perf_counter() - t0:.0f} s)") from exc
        rep = PageReport(page=page, title=data["title"], images=data["images"],
                         broken_images=data["broken_images"], math=data["math"], mathjax=data["mathjax"],
                         untypeset_math=data["untypeset_math"], unresolved_refs=data["unresolved_refs"],
                         text_chars=data["text_chars"])
        if data["math"] and data["mathjax"] != "typeset":
            rep.untypeset_math.insert(0, data["mathjax"])
        for kind, pat in RAW_PATTERNS.items():
            rep.raw_text += [(kind, data["text"][max(0, m.start() - 40): m.end() + 40])
                             for m in pat.finditer(data["text"])]
        rep.links = [(k, u[len(base):]) for k, u in data["links"] if u.startswith(base)]
        rep.external_links = [u for k, u in data["links"] if k == "a" and not u.startswith(self._origin)]
        rep.links += [(k, "../" + u[len(self._origin):]) for k, u in data["links"]
                      if u.startswith(self._origin) and not u.startswith(base)]  # outside the book: broken
        if redirect:
            rep.links.append(("redirect", target[len(base):]))
        rep.glue_found = sum(bool(g) for g in data["glue"])
        rep.bold_glue = data["bold_glue"]
        rep.tables = len(data["tables"])
        rep.overflowing_tables = [tuple(t) for t in data["tables"] if t[1] > t[2] + 1]
        rep.empty_glue = sum(not g for g in data["glue"])
        source = _source_markdown(html, page)
        if source is not None:
            rep.glue_expected = len(GLUE_ROLE.findall(source))
            rep.cites_expected = len({k.strip() for keys in CITE_ROLE.findall(source) for k in keys.split(",")})
            rep.cites_found = data["cites"]
        rep.console_errors = [e["message"][:300] for e in self.browser.get_log("browser")
                              if e["level"] == "SEVERE" and not any(k in e["message"] for k in KNOWN_CONSOLE)]
        if shots is not None:
            rep.screenshot = str(self._screenshot(shots, page, data["height"]))
        for width in OVERFLOW_WIDTHS:
            rep.overflow[width] = self._overflow(width, shots / str(width) if shots and width != 1280 else None,
                                                 page)
        return rep

    def _viewport(self, width: int, height: int) -> None:
        self.browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                     {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
        time.sleep(0.3)  # let the page lay itself out again

    def _overflow(self, width: int, shots: Path | None, page: str) -> list:
        """The page's horizontal overflows at a viewport ``width`` (with ``shots``, a screenshot there too)."""
        self._viewport(width, 1000)
        try:
            found = [tuple(x) for x in self.browser.execute_script(_OVERFLOW_JS)]
            if shots is not None:
                height = self.browser.execute_script("return document.documentElement.scrollHeight;")
                self._capture(shots, page, width, height)
        finally:
            self.browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        return found

    def _screenshot(self, folder: Path, page: str, height: int) -> Path:
        return self._capture(folder, page, 1280, height)

    def _capture(self, folder: Path, page: str, width: int, height: int) -> Path:
        import base64

        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (page[: -len(".html")].replace("/", "__") + ".png")
        # a window as tall as the page (capturing beyond the viewport instead drops the theme's sticky sidebars)
        self._viewport(width, int(min(max(height, 400), MAX_SCREENSHOT_HEIGHT)))
        try:
            shot = self.browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        finally:
            self.browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    @staticmethod
    def _resolve_links(html: Path, base: str, reports: list[PageReport]) -> None:
        """Every same-site link must name an existing file, and its fragment an id in that page."""
        for rep in reports:
            for kind, url in rep.links:
                target, frag = urldefrag(url)
                rel = unquote(urlsplit(target).path)
                path = (html / rel).resolve()
                if path.is_dir():
                    path = path / "index.html"
                if path == html / BOOK_PDF and not path.is_file():
                    rep.missing_pdf.append(f"{kind} {rel!r}")
                elif not path.is_relative_to(html) or not path.is_file():
                    rep.broken_links.append(f"{kind} {rel!r}: no such file in the book")
                elif frag and path.suffix == ".html" and unquote(frag) not in _ids_in(path):
                    rep.broken_links.append(f"{kind} {rel}#{frag}: no element with that id")


def check_book(html_dir, screenshots=None, pages=None) -> list[PageReport]:
    """Check a built book in a browser of its own; one :class:`PageReport` per page."""
    with BookChecker() as checker:
        return checker.check_book(html_dir, pages, screenshots)


def screenshots_dir() -> Path:
    return Path(os.environ.get("DDLIB_SCREENSHOTS") or ROOT / "_build" / "screenshots")


# --------------------------------------------------------------------------------------------------------------------
# the tests on the QUICK book

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def checker():
    """One headless Chromium for the whole module (skips, or fails under DDLIB_REQUIRE_BROWSER=1, without one)."""
    chromium, driver = require_browser()
    with BookChecker(chromium, driver) as c:
        yield c


@pytest.fixture(scope="module")
def book_reports(checker, book_html):
    t0 = time.perf_counter()
    reports = checker.check_book(book_html, screenshots=screenshots_dir())
    print(f"checked {len(reports)} pages in {time.perf_counter() - t0:.1f} s")
    return {r.page: r for r in reports}


def _toc_pages() -> list[str]:
    sys.path.insert(0, str(ROOT / "tools"))
    from build_book import toc_entries

    return [e + ".html" for e in toc_entries(ROOT / "_toc.yml")]


def test_every_toc_page_is_opened(book_reports):
    missing = [p for p in _toc_pages() if p not in book_reports]
    assert not missing, f"pages of _toc.yml not found in the built book: {missing}"
    for page in _toc_pages():
        assert book_reports[page].text_chars > 200, f"{page} shows almost no text"


def test_every_image_has_loaded(book_reports):
    problems = [f"{r.page}: {s}" for r in book_reports.values() for s in r.broken_images]
    assert not problems, "\n".join(problems)
    # every figure the chapters show is an <img> that loaded (the manifest's figures reach the pages)
    chapter_images = sum(r.images for p, r in book_reports.items() if p.startswith("chapters/"))
    assert chapter_images >= sum(1 for p in book_reports if p.startswith("chapters/"))


def test_mathematics_is_typeset(book_reports):
    problems = [f"{r.page}: {s}" for r in book_reports.values() for s in r.untypeset_math]
    problems += [f"{r.page}: raw {k}: {s!r}" for r in book_reports.values() for k, s in r.raw_text]
    assert not problems, "\n".join(problems)
    assert sum(r.math for r in book_reports.values()) > 0, "no mathematics found anywhere in the book"


def test_cross_references_and_internal_links_resolve(book_reports):
    problems = [f"{r.page}: {s}" for r in book_reports.values() for s in r.unresolved_refs + r.broken_links]
    assert not problems, "\n".join(problems)
    assert sum(len(r.links) for r in book_reports.values()) > 0


def test_glued_numbers_and_citations_appear(book_reports):
    problems = [p for r in book_reports.values() for p in r.problems() if "glue" in p or "citation" in p]
    assert not problems, "\n".join(problems)
    assert sum(r.glue_found for r in book_reports.values()) > 0, "no glued number in the whole book"


def test_glued_numbers_are_in_normal_weight(book_reports):
    problems = [f"{r.page}: {s!r}" for r in book_reports.values() for s in r.bold_glue]
    assert not problems, "glued values in bold:\n" + "\n".join(problems)


def test_results_tables_fit_the_page(book_reports):
    """Every ddlib.tables table fits its page at the screenshots' width (1280 px) without scrolling sideways."""
    problems = [f"{r.page}: {t}" for r in book_reports.values() for t in r.overflowing_tables]
    assert not problems, "\n".join(problems)
    assert sum(r.tables for r in book_reports.values()) >= 10, "fewer results tables than the chapters show"


def _overflow_params():
    reason = ("issue 21: display equations and text of chapters 4, 5, 6 and 8 are made to fit in their chapter's "
              "pass (remaining: " + ", ".join(OVERFLOW_PENDING) + ")")
    return [pytest.param(page, width, id=f"{page}-{width}px",
                         marks=[pytest.mark.xfail(reason=reason, strict=False)] if page in OVERFLOW_PENDING else [])
            for page in _toc_pages() for width in OVERFLOW_WIDTHS]


@pytest.mark.parametrize("page, width", _overflow_params())
def test_nothing_runs_past_the_page(book_reports, page, width):
    """At a phone's width (390 px) and a laptop's (1280 px) no text or display equation runs past its column and
    the page never scrolls sideways (code blocks and results tables scroll inside their own boxes)."""
    assert page in book_reports, f"{page} was not checked"
    problems = book_reports[page].overflow_problems(width)
    assert not problems, "\n".join(problems)


def test_no_browser_console_errors(book_reports):
    problems = [f"{r.page}: {s}" for r in book_reports.values() for s in r.console_errors]
    assert not problems, "\n".join(problems)


def test_chapters_offer_the_executed_notebook(book_html):
    """Download gives the executed notebook (with outputs and the provenance of the run that made it)."""
    chapters = sorted((book_html / "chapters").glob("*.html"))
    assert chapters
    for page in chapters:
        text = page.read_text()
        download = f"../_sources/chapters/{page.stem}.ipynb"
        assert f'href="{download}"' in text, f"{page.name}: no download link to its notebook"
        nb = json.loads((page.parent / download).read_text())
        outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
        assert outputs, f"{page.stem}.ipynb offered for download carries no outputs"
        assert nb["metadata"]["ddlib"]["ok"] is True


def test_no_link_leads_to_the_placeholder_repository(book_reports):
    """While repository.url is the placeholder, no button (launch, repository, issues, edit) links anywhere near
    it; tests/test_build_tools.py builds both states and checks that the buttons appear with a real address."""
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "/OWNER/" in cfg["repository"]["url"] + "/", "repository.url is real now: check its buttons instead"
    bad = [f"{r.page}: {u}" for r in book_reports.values() for u in r.external_links
           if "OWNER" in u or "colab.research.google.com/github" in u or "mybinder.org/v2" in u]
    assert not bad, "\n".join(bad)
    assert any(r.external_links for r in book_reports.values())  # the check saw external links at all


def test_the_reproduce_page_links_the_pdf(book_reports):
    rep = book_reports["reproduce.html"]
    assert any(url.split("#")[0] == BOOK_PDF for _, url in rep.links), "the Reproduce page does not link the PDF"
    if tex_missing():
        pytest.skip(f"no PDF without TeX ({', '.join(tex_missing())})")
    assert not rep.missing_pdf, rep.problems()


def test_a_screenshot_of_every_page(book_reports):
    for r in book_reports.values():
        shot = Path(r.screenshot)
        assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", r.page
        assert shot.stat().st_size > 10_000, f"{shot} is suspiciously small: a blank page?"


# --------------------------------------------------------------------------------------------------------------------
# the checker catches each kind of defect


@pytest.fixture
def book_copy(book_html, tmp_path) -> Path:
    """A copy of the built QUICK book that a test may damage."""
    dst = tmp_path / "html"
    shutil.copytree(book_html, dst)
    return dst


def _first_chapter(html_dir: Path) -> str:
    pages = sorted(p.relative_to(html_dir).as_posix() for p in (html_dir / "chapters").glob("*.html"))
    assert pages, "the book has no chapter pages"
    return pages[0]


def test_checker_catches_a_missing_image(checker, book_copy):
    page = _first_chapter(book_copy)
    src = re.search(r'<img[^>]+src="([^"]+)"', (book_copy / page).read_text())
    assert src, f"{page} shows no image"
    (book_copy / page).parent.joinpath(src.group(1)).resolve().unlink()
    (rep,) = checker.check_book(book_copy, pages=[page])
    assert any(Path(src.group(1)).name in s for s in rep.broken_images), rep.problems()
    assert any("image not loaded" in p for p in rep.problems())


def test_checker_catches_a_broken_link_fragment(checker, book_copy):
    page = "intro.html"
    text = (book_copy / page).read_text()
    link = re.search(r'(<a class="reference internal" href="[^"#]*)#([^"]+)"', text)
    assert link, "the introduction has no internal link with a fragment"
    (book_copy / page).write_text(text.replace(link.group(0), f'{link.group(1)}#no-such-label"', 1))
    (rep,) = checker.check_book(book_copy, pages=[page])
    assert any("no-such-label" in s for s in rep.broken_links), rep.problems()


def test_checker_catches_untypeset_mathematics(checker, book_copy):
    shutil.rmtree(book_copy / "_static" / "mathjax")
    page = _first_chapter(book_copy)
    (rep,) = checker.check_book(book_copy, pages=[page])
    assert rep.untypeset_math and any("\\(" in s or "\\[" in s for _, s in rep.raw_text), rep.problems()


def test_checker_catches_a_missing_glued_number(checker, book_copy):
    page = _first_chapter(book_copy)
    text = (book_copy / page).read_text()
    span = re.search(r'<span class="pasted-text">[^<]*</span>', text)
    assert span, f"{page} has no glued number"
    (book_copy / page).write_text(text.replace(span.group(0), "", 1))
    (rep,) = checker.check_book(book_copy, pages=[page])
    assert rep.glue_found == rep.glue_expected - 1, rep.problems()
    assert any("glued numbers" in p for p in rep.problems())


def test_checker_catches_bold_glue_and_a_table_wider_than_the_page(checker, book_copy):
    (book_copy / "_static" / "ddlib.css").write_text("")  # without the book's style myst-nb's bold returns
    page = _first_chapter(book_copy)
    text = (book_copy / page).read_text()
    wide = ('<div class="ddlib-table" style="overflow-x:auto;max-width:100%"><table style="width:4000px">'
            "<caption>too wide</caption><tr><td>x</td></tr></table></div>")
    (book_copy / page).write_text(text.replace("</main>", wide + "</main>", 1))
    (rep,) = checker.check_book(book_copy, pages=[page])
    assert rep.bold_glue and any("glued value in bold" in p for p in rep.problems())
    assert [c for c, _, _ in rep.overflowing_tables] == ["too wide"], rep.problems()


def _mini_book(root: Path, body: str) -> Path:
    """A one-page Jupyter Book with the project's math and numbering settings, built without -W; its HTML folder."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "_config.yml").write_text(
        "title: mini\nexecute:\n  execute_notebooks: 'off'\nparse:\n  myst_enable_extensions: [dollarmath, amsmath]\n"
        "sphinx:\n  extra_extensions: [sphinx-mathjax-offline]\n  config:\n    numfig: true\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (root / "intro.md").write_text(body)
    jb = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(jb), "build", str(root), "--quiet"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root / "_build" / "html"


def test_checker_catches_broken_cross_references_as_sphinx_renders_them(checker, tmp_path):
    html_dir = _mini_book(tmp_path / "mini", "# Mini\n\n(sec-here)=\n## Here\n\n$$\nx = 1\n$$ (eq-here)\n\n"
                          "Good: {ref}`sec-here`, {eq}`eq-here`.\n\n"
                          "Broken: {numref}`fig-nothere`, {ref}`sec-nothere`, {eq}`eq-nothere`, "
                          "[a link](#nowhere).\n")
    (rep,) = checker.check_book(html_dir, pages=["intro.html"])
    assert set(rep.unresolved_refs) >= {"fig-nothere", "sec-nothere", "eq-nothere"}, rep.problems()
    assert any("#nowhere" in s for s in rep.broken_links), rep.problems()
    assert not rep.untypeset_math and rep.math == 1  # the good parts pass
    assert not any("sec-here" in s or "eq-here" in s for s in rep.unresolved_refs + rep.broken_links)


def test_checker_catches_an_equation_and_a_word_wider_than_the_page(checker, tmp_path):
    terms = " + ".join(f"a_{{{k}}}" for k in range(80))
    html_dir = _mini_book(tmp_path / "wide", f"# Wide\n\n$$\nx = {terms}\n$$ (eq-wide)\n\n{'w' * 50}\n\n"
                                             "$$\ny = 1\n$$\n\nA short paragraph.\n")
    (rep,) = checker.check_book(html_dir, pages=["intro.html"])
    for width in OVERFLOW_WIDTHS:
        kinds = [kind for kind, *_ in rep.overflow[width]]
        assert kinds.count("equation") == 1, rep.overflow_problems(width)  # the long one, not y = 1
    assert any(kind == "text" and text.startswith("www") for kind, text, *_ in rep.overflow[390])
    assert not any(kind == "text" for kind, *_ in rep.overflow[1280])  # 50 letters fit at 1280 px


def test_checker_rejects_a_folder_without_pages(tmp_path):
    with pytest.raises(ValueError, match="html_dir"):
        BookChecker.check_book(None, tmp_path)


# --------------------------------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Check every page of a built book in headless Chromium.")
    ap.add_argument("html", type=Path, nargs="?", default=ROOT / "_build" / "html")
    ap.add_argument("--screenshots", type=Path, default=screenshots_dir())
    args = ap.parse_args(argv)
    reports = check_book(args.html, args.screenshots)
    problems = [p for r in reports for p in r.problems()]
    for r in reports:
        print(f"{'ok  ' if not r.problems() else 'FAIL'} {r.page}: {r.images} images, {r.math} formulas, "
              f"{r.glue_found} glued values, {len(r.links)} links; screenshot {r.screenshot}")
    print("\n".join(problems) or "no problems found")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
