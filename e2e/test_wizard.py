"""The theming wizard in Chromium, as a site owner uses it: sign in, change the primary colour and the position, watch
the live preview (the real widget) change, save; the widget on a separate site page (another origin, nothing but the
snippet) follows; restoring the previous version brings the old look back. Bad input and wrong passwords are refused
with clear messages; everything works by keyboard and every field has a label.

Screenshots of the wizard's pages and of the real widget, opened, in each theme go to ``test-results/wizard/``."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support import serve_http
from widget_server import keys
from widget_server.bootstrap import create_license
from widget_server.protocol.config import Appearance, LicenseConfig
from widget_server.valkey import connect

SHOTS = Path(__file__).resolve().parent.parent / "test-results" / "wizard"
CLASSIC = "rgb(29, 78, 216)"  # #1d4ed8, the classic theme's primary colour
ROSE = "rgb(225, 29, 72)"  # #e11d48
PAGES: dict[str, bytes] = {}

# the launcher's button and its box, inside the loader's open shadow root
LAUNCHER_JS = """() => {
  const host = document.querySelector('body > div');
  const button = host && host.shadowRoot && host.shadowRoot.querySelector('button');
  if (!button) return null;
  const box = button.getBoundingClientRect();
  return {color: getComputedStyle(button).backgroundColor, left: box.left + box.width / 2 < innerWidth / 2};
}"""


class _SiteHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        body = PAGES.get(self.path.split("?", 1)[0])
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body or b"not found")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    """The owner's web site: another origin than the API, pages with nothing but the install snippet."""
    with serve_http(_SiteHandler, "e2e-wizard-shop") as origin:
        yield origin


def shop_page(shop: str, api: str, org: str) -> str:
    snippet = httpx.get(f"{api}/widget/snippet", params={"organization_id": org}, timeout=10).text
    path = f"/shop-{secrets.token_hex(4)}.html"
    PAGES[path] = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Shop</title></head>"
                   f"<body><h1>A shop</h1>{snippet}</body></html>").encode()
    return shop + path


class Owner:
    def __init__(self, email: str, password: str, org: str) -> None:
        self.email, self.password, self.org = email, password, org


def _in_thread(coro: Any) -> Any:
    # Playwright's sync API keeps an event loop marked running in this thread
    with ThreadPoolExecutor(1, thread_name_prefix="e2e-wizard") as pool:
        return pool.submit(asyncio.run, coro).result(timeout=30)


@pytest.fixture
def make_owner(valkey_url: str) -> Callable[..., Owner]:
    async def create(config: LicenseConfig | None) -> Owner:
        client = connect(valkey_url)
        try:
            email, password = f"owner-{secrets.token_hex(5)}@example.com", secrets.token_urlsafe(10)
            creds = await create_license(client, email, password, config)
        finally:
            await client.aclose()
        return Owner(email, password, creds["organization_id"])

    return lambda config=None: _in_thread(create(config))


def versions_of(valkey_url: str, org: str) -> list[int]:
    async def read() -> list[int]:
        client = connect(valkey_url)
        try:
            return sorted(int(n) for n in await client.hkeys(keys.wizard_versions(org)))
        finally:
            await client.aclose()

    return _in_thread(read())


def watch(page: Page, allowed_statuses: tuple[int, ...] = ()) -> list[str]:
    """Console errors (CSP violations among them), page errors, dialogs and unexpected HTTP errors."""
    problems: list[str] = []
    expected = tuple(f"Failed to load resource: the server responded with a status of {s}" for s in allowed_statuses)

    def on_console(m: Any) -> None:
        if m.type == "error" and not (expected and m.text.startswith(expected)):
            problems.append(f"console {m.type}: {m.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}")
            if r.status >= 400 and r.status not in allowed_statuses else None)
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    return problems


def sign_in(page: Page, api: str, owner: Owner, password: str | None = None) -> None:
    page.goto(f"{api}/wizard/login")
    page.get_by_label("E-mail address").fill(owner.email)
    page.get_by_label("Password").fill(owner.password if password is None else password)
    page.get_by_role("button", name="Sign in").click()


def preview_launcher(page: Page) -> dict | None:
    frame = page.frame(name="preview")
    try:
        return frame.evaluate(LAUNCHER_JS) if frame else None
    except Exception:  # the preview is reloading
        return None


def wait_for_preview(page: Page, color: str, left: bool) -> None:
    def matches() -> bool:
        look = preview_launcher(page)
        return bool(look) and look["color"] == color and look["left"] == left

    for _ in range(200):
        if matches():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the preview's launcher never became {color} on the {'left' if left else 'right'}: "
                         f"{preview_launcher(page)}")


def site_launcher(page: Page) -> dict:
    page.wait_for_function(f"({LAUNCHER_JS})() !== null")
    return page.evaluate(LAUNCHER_JS)


def test_an_owner_restyles_the_widget_with_a_live_preview_saves_and_restores(
        page: Page, api: str, shop: str, make_owner: Callable[..., Owner], valkey_url: str) -> None:
    owner = make_owner()
    problems = watch(page)
    page.set_viewport_size({"width": 1360, "height": 1000})
    sign_in(page, api, owner)
    expect(page.get_by_role("heading", name="Your chat widget")).to_be_visible()
    wait_for_preview(page, CLASSIC, left=False)

    page.get_by_label("Primary colour", exact=True).fill("#e11d48")
    page.get_by_role("radio", name="Bottom left").check()
    wait_for_preview(page, ROSE, left=True)  # before saving: the preview shows the draft
    expect(page.get_by_role("status").filter(has_text="Preview updated")).to_be_visible()
    preview = page.frame_locator("#preview")
    chat = preview.frame_locator("iframe[title='Open chat']")  # the chat window, open in the preview
    expect(chat.get_by_role("button", name="Send message")).to_be_visible()
    # the reloaded preview opened the widget, which left the focus where the owner was in the form
    expect(page.get_by_role("radio", name="Bottom left")).to_be_focused()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "wizard-settings.png"), full_page=False)

    # visitors still see the saved look until the owner saves
    site = page.context.new_page()
    site.goto(shop_page(shop, api, owner.org))
    assert site_launcher(site) == {"color": CLASSIC, "left": False}

    page.get_by_role("button", name="Save and publish").click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()
    assert versions_of(valkey_url, owner.org) == [1, 2]
    site.reload()
    assert site_launcher(site) == {"color": ROSE, "left": True}

    page.get_by_role("link", name="History", exact=True).click()
    page.screenshot(path=str(SHOTS / "wizard-history.png"), full_page=True)
    page.get_by_role("button", name="Restore version 1").click()
    expect(page.get_by_role("status").filter(has_text="Restored version 1 as version 3")).to_be_visible()
    site.reload()
    assert site_launcher(site) == {"color": CLASSIC, "left": False}

    page.get_by_role("link", name="Install", exact=True).click()
    expect(page.get_by_label("Install snippet")).to_contain_text(f"{api}/widget/loader.js")
    page.screenshot(path=str(SHOTS / "wizard-install.png"), full_page=True)
    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.get_by_role("link", name="Dashboard", exact=True)).to_have_attribute("aria-current", "page")
    expect(page.locator("#stat-page-views")).to_have_text("3")  # the site page's three loads (the preview: none)
    page.screenshot(path=str(SHOTS / "wizard-dashboard.png"), full_page=True)
    site.close()
    assert problems == []


def test_an_invalid_colour_gets_a_field_error_and_nothing_is_saved(
        page: Page, api: str, make_owner: Callable[..., Owner], valkey_url: str) -> None:
    owner = make_owner()
    problems = watch(page, allowed_statuses=(400,))  # the draft and the save refuse the colour
    sign_in(page, api, owner)
    field = page.get_by_label("Primary colour", exact=True)
    field.fill("#12345")
    error = page.locator("#primary_color-error")
    expect(error).to_contain_text("Enter a colour as # and six hexadecimal digits")  # as you type
    expect(field).to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Save and publish").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(error).to_contain_text("Enter a colour as # and six hexadecimal digits")
    expect(page.get_by_label("Primary colour", exact=True)).to_have_value("#12345")  # kept, to correct it
    expect(page.locator("#error-summary")).to_be_focused()
    page.screenshot(path=str(SHOTS / "wizard-field-error.png"), full_page=False)
    assert versions_of(valkey_url, owner.org) == []
    page.get_by_role("link", name="History", exact=True).click()
    expect(page.get_by_text("Nothing saved from the wizard yet")).to_be_visible()
    assert problems == []


def test_a_wrong_password_is_refused_and_repeated_failures_are_rate_limited(
        page: Page, api: str, make_owner: Callable[..., Owner]) -> None:
    owner = make_owner()
    problems = watch(page, allowed_statuses=(400, 429))
    sign_in(page, api, owner, password="guess")
    for attempt in range(5):
        expect(page.get_by_role("alert")).to_have_text("Wrong e-mail address or password.")
        expect(page.get_by_label("E-mail address")).to_have_value(owner.email)  # kept; the password is not
        expect(page.get_by_label("Password")).to_have_value("")
        # again, from the form the refusal shows (the last time with the right password: too late)
        page.get_by_label("Password").fill("guess" if attempt < 4 else owner.password)
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Too many failed sign-ins for {owner.email}. Try again in")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert problems == []


def test_the_wizard_works_by_keyboard_and_every_field_has_a_label(
        page: Page, api: str, make_owner: Callable[..., Owner], valkey_url: str) -> None:
    owner = make_owner()
    problems = watch(page)
    page.goto(f"{api}/wizard/login")
    expect(page.get_by_label("E-mail address")).to_be_focused()
    page.keyboard.type(owner.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(owner.password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your chat widget")).to_be_visible()

    unlabelled = """() => [...document.querySelectorAll('input, select, textarea, button')]
        .filter((el) => el.type !== 'hidden' && el.offsetParent !== null)
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
        .map((el) => el.outerHTML.slice(0, 80))"""
    assert page.evaluate(unlabelled) == []

    # by keyboard only: Tab to the themes, pick the next one with an arrow key, Tab on to the save button
    def tab_to(predicate: str, limit: int = 200) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"(() => {{ const el = document.activeElement; return {predicate}; }})()"):
                return
        raise AssertionError(f"Tab never reached {predicate}")

    tab_to("el.name === 'theme'")
    page.keyboard.press("ArrowRight")
    chosen = page.evaluate("document.activeElement.value")
    assert chosen != "classic" and page.evaluate("document.activeElement.checked")
    tab_to("el.id === 'prechat-0-type'")
    tab_to("el.textContent === 'Move down'")
    page.keyboard.press("Enter")  # the first survey field moves down; the focus stays on its button
    assert page.evaluate("document.activeElement.closest('[data-row]').querySelector('[data-n]').textContent") == "2"
    tab_to("el.id === 'save'")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()
    assert versions_of(valkey_url, owner.org) == [1, 2]
    expect(page.locator(f"#theme-{chosen}")).to_be_checked()
    assert page.evaluate("document.querySelector('#prechat-0-label').value") == "E-mail"  # the moved order, saved

    for path in ("/wizard/history", "/wizard/hours", "/wizard/greetings", "/wizard/tickets", "/wizard/timeouts",
                 "/wizard/install", "/wizard/dashboard"):
        page.goto(api + path)
        assert page.evaluate(unlabelled) == []
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    # sign out by keyboard
    page.get_by_role("button", name="Sign out").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    assert problems == []


@pytest.mark.parametrize("theme", ["classic", "modern", "dark", "minimal"])
def test_screenshot_of_each_theme_with_the_chat_open(page: Page, api: str, shop: str, theme: str,
                                                     make_owner: Callable[..., Owner]) -> None:
    owner = make_owner(LicenseConfig(appearance=Appearance(theme=theme, agent_name="Ann from Support",
                                                           title="Questions? Ask us")))
    problems = watch(page)
    page.set_viewport_size({"width": 900, "height": 760})
    page.goto(shop_page(shop, api, owner.org))
    page.get_by_role("button", name="Open chat").click()
    frame = page.frame_locator("iframe[title='Open chat']")
    expect(frame.get_by_text("Questions? Ask us")).to_be_visible()
    expect(frame.get_by_text("We are away right now")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"theme-{theme}.png"))
    assert problems == []
