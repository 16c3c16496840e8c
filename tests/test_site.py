"""The published course: built with --strict, then read in headless Chromium."""

import functools
import http.server
import os
import subprocess
import sys
import threading
from urllib.parse import urlparse

import pytest

from course_app.notebooks import solved_lessons
from course_app.settings import PROJECT_ROOT
from tests.browser import screenshot


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(target)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return target


def test_the_site_builds_strictly_with_every_page(built_site):
    for page in (
        "index.html",
        "setup/index.html",
        "cheatsheet/index.html",
        "troubleshooting/index.html",
        "reference/index.html",
        "instructors/index.html",
    ):
        assert (built_site / page).exists(), page
    for lesson in solved_lessons():
        assert (built_site / "lessons" / lesson.stem / "index.html").exists(), lesson.name


def test_a_lessons_next_link_leads_to_the_next_lessons_page(built_site):
    import re

    linked = 0
    for lesson in solved_lessons():
        page = built_site / "lessons" / lesson.stem / "index.html"
        for target in re.findall(r'<a href="([^"#]+)"', page.read_text()):
            if target.startswith("../") and re.match(r"\.\./\d\d_", target):
                linked += 1
                assert (page.parent / target / "index.html").resolve().exists(), (lesson, target)
            assert not target.endswith(".ipynb") or target.startswith("http"), (lesson, target)
    assert linked >= 10


def test_the_reference_page_is_drawn_from_the_code(built_site):
    html = (built_site / "reference" / "index.html").read_text()
    assert "<svg" in html and "votes" in html and "fk" not in html.split("<svg")[0][-50:]
    assert "0004</code></strong>" in html and "auto-vote" in html


@pytest.fixture(scope="session")
def site_url(built_site):
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def page(browser, site_url):
    """A page that records console errors and every request it makes."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors, page.hosts = [], set()
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("request", lambda r: page.hosts.add(urlparse(r.url).hostname))
    yield page
    assert page.hosts <= {"127.0.0.1"}, f"requests left 127.0.0.1: {page.hosts - {'127.0.0.1'}}"
    assert page.errors == [], f"console errors: {page.errors}"
    context.close()


def test_home_page(page, site_url):
    page.goto(site_url + "/")
    assert page.title().startswith("Alembic, Hands-On")
    assert page.locator("h2#what-you-will-learn").count() == 1
    assert page.locator("a[href='lessons/05_going_back/']").count() >= 1
    screenshot(page, "site-home")


@pytest.mark.parametrize("lesson", solved_lessons(), ids=lambda p: p.stem)
def test_every_lesson_page_shows_its_outputs(page, site_url, lesson):
    page.goto(f"{site_url}/lessons/{lesson.stem}/")
    number = int(lesson.name[:2])
    assert page.locator(".jp-OutputArea-output").count() > 3
    assert page.locator(f"text=Lesson {number} is ready").count() == 1
    assert page.locator("text=Correct!").count() >= 1
    folded = page.locator("details.course-solution")
    assert folded.count() >= 1 and folded.first.get_attribute("open") is None
    screenshot(page, f"site-{lesson.stem}")


def test_search_finds_downgrade(page, site_url):
    page.goto(site_url + "/")
    page.locator("label.md-search__icon, .md-search__input").first.click()
    # Typed key by key, as a reader does: Material 9.7 ignores a value set at once.
    page.locator(".md-search__input").press_sequentially("downgrade", delay=30)
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=10_000)
    links = [a.get_attribute("href") for a in page.locator(".md-search-result__link").all()]
    assert any("lessons/" in (href or "") for href in links), links
    screenshot(page, "site-search")


def test_dark_toggle(page, site_url):
    page.goto(site_url + "/")
    before = page.locator("body").get_attribute("data-md-color-scheme")
    page.locator("form[data-md-component=palette] label:visible").first.click()
    page.wait_for_timeout(300)
    after = page.locator("body").get_attribute("data-md-color-scheme")
    assert {before, after} == {"default", "slate"}
    page.goto(site_url + "/lessons/04_growing_the_schema/")
    screenshot(page, "site-dark-lesson04")


PAGES = [
    "/",
    "/setup/",
    "/lessons/00_start_here/",
    "/lessons/04_growing_the_schema/",
    "/lessons/06_autogenerate/",
    "/cheatsheet/",
    "/troubleshooting/",
    "/reference/",
    "/instructors/",
]
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_passes_axe_wcag_21_aa(browser, site_url, scheme):
    """axe-core's WCAG 2.1 A and AA rules, on nine pages and the open search, both schemes."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    failures = []
    for path in PAGES:
        page.goto(site_url + path)
        wanted = "slate" if scheme == "dark" else "default"
        assert page.locator("body").get_attribute("data-md-color-scheme") == wanted
        found = axe.run(page, options={**WCAG_21_AA, "resultTypes": ["violations"]}).response
        failures += [
            f"{path}: {v['id']} ({len(v['nodes'])}): {v['nodes'][0]['target']}"
            for v in found["violations"]
        ]
    page.goto(site_url + "/")
    page.locator("label.md-search__icon, .md-search__input").first.click()
    page.locator(".md-search__input").press_sequentially("alembic", delay=20)
    page.locator(".md-search-result__item").first.wait_for(timeout=10_000)
    page.wait_for_timeout(600)  # a result's background fades in (0.25 s): measure once it ends
    found = axe.run(page, options={**WCAG_21_AA, "resultTypes": ["violations"]}).response
    failures += [f"search open: {v['id']}: {v['nodes'][0]['target']}" for v in found["violations"]]
    context.close()
    assert failures == [], "\n".join(failures)


def test_lesson_pages_fit_a_phone(browser, site_url):
    """390 px wide: no prompt column, code as wide as the text, outputs wrapped at spaces."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(site_url + "/lessons/04_growing_the_schema/")
    assert not page.locator(".jp-InputPrompt:visible").count()
    prose = page.locator(".jp-MarkdownOutput p").first.bounding_box()
    code = page.locator(".jp-InputArea-editor").first.bounding_box()
    assert code["width"] >= prose["width"] - 12, (code, prose)
    ready = page.locator(".jp-OutputArea-output pre", has_text="Lesson 4 is ready")
    assert ready.evaluate("e => getComputedStyle(e).wordBreak") == "normal"
    screenshot(page, "site-lesson04-phone")
    context.close()


def test_the_workflow_passes_zizmor():
    """Actions pinned to commits, no persisted credentials: zizmor, offline."""
    import shutil

    zizmor = shutil.which("zizmor")
    if zizmor is None:
        pytest.skip("zizmor not installed (python -m pip install -r requirements-dev.txt)")
    done = subprocess.run(
        [zizmor, "--offline", str(PROJECT_ROOT / ".github" / "workflows")],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
