"""The API docs at /schema render in a browser that can reach nothing but this server: Swagger UI's files are
served by the server itself (built from npm with the widget), not from a CDN."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect


def test_the_api_docs_render_with_no_internet(page: Page, api: str) -> None:
    ours = urlsplit(api).netloc
    elsewhere: list[str] = []

    def only_this_server(route: Route) -> None:
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:  # as on a machine without internet
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto(api + "/schema")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("widget_server")
    expect(page.locator(".opblock-summary-path", has_text="/v3.6/customer/action/send_event").first).to_be_visible()
    assert elsewhere == [], elsewhere
    scripts = page.eval_on_selector_all("script[src], link[rel=stylesheet]", "els => els.map(e => e.src || e.href)")
    assert scripts and all(urlsplit(s).netloc == ours and "/widget/assets/" in s for s in scripts), scripts
