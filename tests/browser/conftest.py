"""Browser tests: pages served by a live server, driven in headless Chromium, checked with axe-core.

Fixtures for the tests in this folder (how to use them: docs/testing.md):

- ``page``: a fresh Playwright page, 1280 x 800, whose relative URLs go to the live server
  (``page.goto("/impressum/")``). It brings ``live_server`` and a transactional database with
  serialized rollback, so rows of the data migrations (the vaccines) are back after each test.
  A stylesheet or image that fails to load fails the test.
- ``assert_accessible(page)``: runs axe-core in the page and fails listing every serious or
  critical violation.
- ``assert_no_horizontal_scroll(page)``: fails if the page is wider than its viewport.

Needs Debian's chromium at /usr/bin/chromium and axe-core in tests/browser/node_modules; `make test`
installs both where it can. Where one is missing the tests here are skipped, with one loud message
at the end of the run; with BROWSER_TESTS=required (CI) they fail instead.
"""

import os
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
FAILING_IMPACTS = ("serious", "critical")


def _missing_requirements():
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (Debian package chromium: as root, `apt-get install chromium`)")
    if not AXE_JS.exists():
        npm = (
            "`npm ci` in tests/browser"
            if shutil.which("npm")
            else "npm (Node.js), then `npm ci` in tests/browser"
        )
        missing.append(f"axe-core in {AXE_JS.parent.parent} ({npm})")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("Playwright for Python (`pip install -e '.[dev]'`)")
    return missing


MISSING = _missing_requirements()
REQUIRED = os.environ.get("BROWSER_TESTS") == "required"


_not_run = pytest.StashKey[int]()


def pytest_collection_modifyitems(config, items):
    if MISSING:
        config.stash[_not_run] = sum(1 for item in items if HERE in item.path.parents)


def pytest_runtest_setup(item):
    # Called for the tests in this folder only, before their fixtures start a browser.
    if MISSING:
        missing = "browser tests need " + "; ".join(MISSING)
        if REQUIRED:
            pytest.fail(f"BROWSER_TESTS=required, but the {missing}", pytrace=False)
        pytest.skip(missing)


def pytest_terminal_summary(terminalreporter, config):
    not_run = config.stash.get(_not_run, 0)
    if not not_run:
        return
    outcome = "FAILED" if REQUIRED else "SKIPPED"
    terminalreporter.write_sep("!", f"{not_run} BROWSER TESTS {outcome}: missing requirements", red=True)
    for requirement in MISSING:
        terminalreporter.write_line(f"  missing: {requirement}", red=True, bold=True)
    terminalreporter.write_line(
        "  `make test` installs them when run as root on Debian (see docs/testing.md)."
    )


@pytest.fixture(scope="package")
def browser():
    from django.db import connections
    from playwright.sync_api import sync_playwright

    django_connections = {alias: connections[alias] for alias in connections}
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Playwright's sync API leaves its asyncio loop marked as running in this thread. Django
        # then refuses database access, and asgiref hands it a second, fresh set of connections:
        # ones without the test database's serialized contents, so serialized rollback and the
        # flush after each test went wrong. Nothing here is async: allow the access, and keep
        # Django on the connections it had.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        for alias, connection in django_connections.items():
            connections[alias] = connection
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, django_db_serialized_rollback):
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, locale="de-DE")
    context.set_default_timeout(10_000)
    page = context.new_page()
    broken = []

    def note_broken_resource(response):
        # The document itself may well be a 404 page; its stylesheet may not.
        if response.status >= 400 and response.request.resource_type != "document":
            broken.append(f"{response.status} {response.url}")

    page.on("response", note_broken_resource)
    page.on("requestfailed", lambda request: broken.append(f"{request.failure} {request.url}"))
    yield page
    context.close()
    assert not broken, "resources failed to load: " + ", ".join(broken)


def _axe_violations(page):
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=AXE_JS)
    # target-size (WCAG 2.2 AA, 24 px targets) is off in axe by default; shaky fingers need it.
    results = page.evaluate(
        "axe.run(document, {resultTypes: ['violations'], rules: {'target-size': {enabled: true}}})"
    )
    return [v for v in results["violations"] if v["impact"] in FAILING_IMPACTS]


def _describe(violation):
    lines = [f"{violation['id']} ({violation['impact']}): {violation['help']} – {violation['helpUrl']}"]
    for node in violation["nodes"]:
        target = " ".join(str(part) for part in node["target"])
        summary = " ".join(line.strip() for line in node["failureSummary"].splitlines()[1:])
        lines.append(f"    {target}: {summary}")
    return "\n".join(lines)


@pytest.fixture
def assert_accessible():
    """assert_accessible(page): no serious or critical axe-core violation in the page as it is now."""

    def check(page):
        violations = _axe_violations(page)
        assert not violations, (
            f"{len(violations)} serious or critical accessibility violations on {page.url} "
            f"at {page.viewport_size['width']} px:\n" + "\n".join(_describe(v) for v in violations)
        )

    return check


@pytest.fixture
def assert_no_horizontal_scroll():
    """assert_no_horizontal_scroll(page): nothing sticks out to the right of the viewport."""

    def check(page):
        overflow = page.evaluate(
            """() => {
                const width = document.documentElement.clientWidth;
                if (document.documentElement.scrollWidth <= width) return null;
                const culprits = [...document.body.querySelectorAll('*')]
                    .filter(el => el.getBoundingClientRect().right > width + 1)
                    .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
                return {width, scrollWidth: document.documentElement.scrollWidth, culprits};
            }"""
        )
        assert overflow is None, (
            f"{page.url} scrolls sideways at {overflow['width']} px "
            f"(content {overflow['scrollWidth']} px wide); too wide: {', '.join(overflow['culprits'][:8])}"
        )

    return check
