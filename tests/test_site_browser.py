"""The built site in a real browser: Debian's chromium driven by Playwright (never Playwright's own
browser download). The site is served on 127.0.0.1 by Python's http.server in a thread; every
request to another host is blocked, as it would fail on this closed network anyway.

Each course page loads without console errors, its images load (naturalWidth > 0), the sidebar
reaches every chapter and lab, and three pages are saved as screenshots (the folder is printed).
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from browser import SCREENSHOTS, launch_chromium, screenshot
from test_book import CHAPTERS, LABS, SOLUTIONS, _exists, build_once

pytestmark = [pytest.mark.browser, pytest.mark.book]  # it builds the site, then drives chromium

PAGES = [d for d in CHAPTERS + LABS + SOLUTIONS if _exists(d)]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    built = build_once(tmp_path_factory)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(built.html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (extra 'browser')")
    with sync_api.sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture
def page(browser, base_url):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    pg.problems = []  # console errors, page errors and failed local requests
    local = urlsplit(base_url).netloc
    pg.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).netloc == local
             or route.request.url.startswith("data:") else route.abort())
    pg.on("console", lambda m: pg.problems.append(f"console {m.type}: {m.text}") if m.type == "error"
          and "net::ERR_FAILED" not in m.text else None)
    pg.on("pageerror", lambda e: pg.problems.append(f"page error: {e}"))
    pg.on("response", lambda r: pg.problems.append(f"HTTP {r.status}: {r.url}")
          if r.status >= 400 and urlsplit(r.url).netloc == local else None)
    yield pg
    ctx.close()


def _images(pg) -> list[dict]:
    """Every <img> after scrolling it into view (lazy images load), with src and naturalWidth."""
    return pg.evaluate("""async () => {
        const out = [];
        for (const img of Array.from(document.images)) {
            img.loading = 'eager';
            if (!img.complete) { await new Promise(r => { img.onload = img.onerror = r; setTimeout(r, 5000); }); }
            out.push({src: img.getAttribute('src'), width: img.naturalWidth, alt: img.getAttribute('alt')});
        }
        return out;
    }""")


@pytest.mark.parametrize("doc", ["intro", "glossary", "instructors", *PAGES])
def test_page_loads_cleanly(page, base_url, doc):
    response = page.goto(base_url + doc + ".html", wait_until="load")
    assert response.ok, response.status
    assert page.locator("article h1").first.is_visible()
    images = _images(page)
    broken = [i["src"] for i in images if not i["width"]]
    assert not broken, f"images that did not load on {doc}: {broken}"
    assert not page.problems, "\n".join(page.problems)


def test_chart_images_load_with_alt_text(page, base_url):
    page.goto(base_url + "notebooks/01-mlops-without-orchestration.html", wait_until="load")
    charts = [i for i in _images(page) if "_images/" in (i["src"] or "")]
    assert charts, "chapter 1 shows no chart"
    assert all(i["width"] > 100 and len(i["alt"] or "") > 40 for i in charts), charts


def test_navigation_reaches_every_chapter_and_lab(page, base_url):
    page.goto(base_url + "index.html", wait_until="load")  # redirects to the start page
    page.wait_for_url("**/intro.html")
    for doc in PAGES:
        link = page.locator(f'nav.bd-links a[href$="{doc.rsplit("/", 1)[-1]}.html"]').first
        link.click()
        page.wait_for_url(f"**/{doc}.html")
        assert page.locator("article h1").first.is_visible(), doc
    assert not page.problems, "\n".join(page.problems)


def test_solution_code_starts_collapsed(page, base_url):
    docs = [d for d in SOLUTIONS if _exists(d)]
    assert docs
    page.goto(base_url + docs[-1] + ".html", wait_until="load")
    toggles = page.locator("details.hide.above-input")
    assert toggles.count() > 0
    first = toggles.first
    assert first.get_attribute("open") is None            # closed on arrival
    assert not first.locator("div.cell_input").is_visible()
    first.locator("summary").click()
    assert first.locator("div.cell_input").is_visible()   # and it opens


def test_screenshots(page, base_url):
    shots = []
    for name, doc in (("site-start", "intro"), ("site-chapter-1", "notebooks/01-mlops-without-orchestration"),
                      ("site-glossary", "glossary")):
        page.goto(base_url + doc + ".html", wait_until="load")
        shots.append(screenshot(page, name))
    print(f"\nscreenshots in {SCREENSHOTS}")
    assert all(p.stat().st_size > 10_000 for p in shots)
