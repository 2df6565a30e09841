"""The built site, read in a real browser: headless Chromium (Debian's package) driven by Playwright.

It reads `_build/html/`, so the book is built first: `.ci/run` runs `python3 dev.py book` before
`python3 dev.py test` and sets CNNBOOK_SITE_TESTS=required, which turns a missing site, browser
or Playwright into a failure. Elsewhere those skip, saying what to run. `dev.py test` installs
Chromium from Debian's packages where it can (Playwright cannot download its own browser here).
Screenshots of the home page, a chapter and the comparison, at desktop and phone widths, are
saved in `_build/screenshots/` for people to look at.
"""

import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 400, "height": 800}
# Hosts a page may ask for on the published site. The test machine has no network: requests to
# them are blocked here and their failures are not the page's errors. MathJax comes from jsDelivr.
EXTERNAL_HOSTS = {"cdn.jsdelivr.net"}
# Chromium as root, offline: the flags this machine's documentation lists for a headless start.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
REQUIRED = os.environ.get("CNNBOOK_SITE_TESTS") == "required"


def _unavailable(reason):
    if REQUIRED:
        pytest.fail(f"{reason} (CNNBOOK_SITE_TESTS=required)")
    pytest.skip(reason)


def _pages():
    """Every page of the table of contents, as its path in the built site."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", [toc]):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return [re.sub(r"\.(md|ipynb)$", "", f) + ".html" for f in files]


PAGES = _pages()
CHAPTERS = [p for p in PAGES if p.startswith("notebooks/")]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    """The built site served on loopback: its base URL."""
    if not (SITE / "index.html").exists():
        _unavailable(f"no built site in {SITE}: run `python3 dev.py book` first")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(SITE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed: `python3 dev.py test` installs it into .venv/")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        _unavailable("no Chromium: `apt-get install chromium` (python3 dev.py test does it as root)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


class Reader:
    """A browser tab on the served site that notes errors and the hosts a page asked for."""

    def __init__(self, browser, base, viewport):
        self.base, self.errors, self.external = base, [], set()
        self.page = browser.new_page(viewport=viewport)
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        self.page.on("console", self._console)
        self.page.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.base):
            route.continue_()
        else:
            self.external.add(urlparse(url).hostname)
            route.abort()

    def _console(self, message):
        where = message.location.get("url", "") or ""
        if message.type == "error" and (where.startswith(self.base) or not where):
            self.errors.append(f"console: {message.text}")

    def open(self, path):
        self.errors.clear()
        self.external.clear()
        response = self.page.goto(self.base + path, wait_until="load")
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        return self.page


@pytest.fixture(scope="module")
def desktop(browser, site):
    reader = Reader(browser, site, DESKTOP)
    yield reader
    reader.page.close()


@pytest.fixture(scope="module")
def phone(browser, site):
    reader = Reader(browser, site, PHONE)
    yield reader
    reader.page.close()


def test_the_table_of_contents_has_the_pages():
    assert PAGES[0] == "book/intro.html" and len(CHAPTERS) >= 12, PAGES


@pytest.mark.parametrize("path", PAGES)
def test_every_page_loads_without_errors(desktop, path):
    desktop.open(path)
    assert desktop.errors == [], f"{path}: {desktop.errors}"
    assert desktop.external <= EXTERNAL_HOSTS, f"{path} asks for {desktop.external - EXTERNAL_HOSTS}"


@pytest.mark.parametrize("path", PAGES)
def test_no_page_scrolls_sideways_on_a_phone(phone, path):
    page = phone.open(path)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{path} is {width} px wide at {PHONE['width']} px"


@pytest.mark.parametrize("path", CHAPTERS)
def test_figures_are_numbered_and_have_alt_text(desktop, path):
    figures = desktop.open(path).evaluate("""() => [...document.querySelectorAll('article figure')].map(f => ({
        number: (f.querySelector('.caption-number') || {}).textContent || '',
        alts: [...f.querySelectorAll('img')].map(i => i.getAttribute('alt') || '')}))""")
    for figure in figures:
        assert re.fullmatch(r"Fig\. \d+(\.\d+)?\s*", figure["number"]), f"{path}: an unnumbered figure {figure}"
        for alt in figure["alts"]:
            assert len(alt) > 10 and not re.search(r"[/\\]|\.(png|svg|jpe?g)$", alt), f"{path}: alt text {alt!r}"


@pytest.mark.parametrize("path", CHAPTERS)
def test_figures_are_not_shrunk_past_legibility_on_a_desktop(desktop, path):
    """A figure drawn wider than the page is scaled down, labels and all: at a desktop width none
    is shown at less than 65% of its size (wide ones take the margin: `booktools.WIDE_TAG`; the widest,
    chapter 3's row of 1,590 px, is at 66%)."""
    images = desktop.open(path).evaluate("""() => [...document.querySelectorAll('article .cell_output img')].map(
        i => [i.currentSrc.split('/').pop(), parseFloat(i.style.width) || +(i.getAttribute('width') || i.naturalWidth),
              i.getBoundingClientRect().width])""")  # a 2x figure's size is its output's width, set inline
    assert images, f"{path} shows no figure"
    for name, natural, shown in images:
        assert shown >= natural * 0.65 - 1, f"{path}: {name} is {natural} px wide, shown at {shown:.0f}"


@pytest.mark.parametrize("path", CHAPTERS)
def test_a_figure_shrunk_to_a_phone_opens_at_full_size_when_tapped(phone, path):
    """At 400 px a wide figure is shown at a third of its size; it is a link to its own image file
    (`booktools.size_figures`), which the phone shows full size, to zoom."""
    images = phone.open(path).evaluate("""() => [...document.querySelectorAll('article .cell_output img')].map(
        i => [i.currentSrc.split('/').pop(), parseFloat(i.style.width) || i.naturalWidth, i.getBoundingClientRect().width,
              (i.closest('a') || {}).href || ''])""")
    assert images, f"{path} shows no figure"
    for name, natural, shown, link in images:
        if shown < natural - 1:
            assert link.split("/").pop() == name, f"{path}: {name} is shrunk to {shown:.0f} px and not linked to its file"


def test_a_chapter_has_numbered_figures(desktop):
    numbers = desktop.open("notebooks/02_lenet.html").evaluate(
        "() => [...document.querySelectorAll('article figure .caption-number')].map(e => e.textContent.trim())")
    assert numbers[:2] == ["Fig. 2.1", "Fig. 2.2"], numbers


@pytest.mark.parametrize("path", CHAPTERS)
def test_colab_and_download_buttons_point_at_the_notebook(desktop, path):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repository = urlparse(config["repository"]["url"]).path.strip("/")
    notebook = path.replace(".html", ".ipynb")
    links = desktop.open(path).evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    colab = f"https://colab.research.google.com/github/{repository}/blob/{config['repository']['branch']}/{notebook}"
    assert colab in links, f"{path}: no Colab link to {colab}"
    download = desktop.base + f"_sources/{notebook}"
    assert download in links, f"{path}: no download link to {download}"
    response = desktop.page.request.get(download)
    assert response.ok and json.loads(response.body())["nbformat"] == 4


def test_search_finds_a_word_from_a_chapter(desktop):
    page = desktop.open("search.html?q=Inception-ResNet")
    page.wait_for_selector("#search-results ul.search li a", timeout=30_000)
    found = page.evaluate("() => [...document.querySelectorAll('#search-results ul.search li a')].map(a => a.href)")
    assert any("notebooks/08_inception.html" in href for href in found), found


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_results_table_is_not_clipped(browser, site, viewport):
    """Every column of the comparison's tables can be seen: a table fits its column, or the box
    around it scrolls sideways; none is cut off by a box that hides what overflows."""
    reader = Reader(browser, site, viewport)
    clipped = reader.open("notebooks/12_comparison.html").evaluate("""() => {
        const out = [];
        for (const table of document.querySelectorAll('article table')) {
            const right = table.getBoundingClientRect().right;
            let box = table.parentElement, scrolls = false;
            for (; box && box.tagName !== 'ARTICLE'; box = box.parentElement) {
                const overflow = getComputedStyle(box).overflowX;
                if (overflow === 'auto' || overflow === 'scroll') { scrolls = true; break; }
                if ((overflow === 'hidden' || overflow === 'clip') && right > box.getBoundingClientRect().right + 1) break;
            }
            const fits = right <= table.closest('article').getBoundingClientRect().right + 1;
            if (!fits && !scrolls) out.push(table.innerText.slice(0, 80));
        }
        return [document.querySelectorAll('article table').length, out];
    }""")
    reader.page.close()
    count, cut = clipped
    assert count >= 2 and cut == [], f"{count} tables; clipped: {cut}"


def test_screenshots_for_people_to_look_at(browser, site):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        reader = Reader(browser, site, viewport)
        for label, path in (("home", PAGES[0]), ("chapter", "notebooks/02_lenet.html"),
                            ("comparison", "notebooks/12_comparison.html")):  # fmt: skip
            target = SCREENSHOTS / f"{label}-{name}.png"
            reader.open(path).screenshot(path=str(target))
            assert target.stat().st_size > 10_000, target
        reader.page.close()
