"""The gateway's /docs renders in a browser that can reach nothing but the gateway (an offline kiosk)."""

from __future__ import annotations

from urllib.parse import urlparse

from playwright.sync_api import Browser, Route, expect

from komagane_devstack.stack import Stack


def test_gateway_docs_render_with_no_internet(browser: Browser, stack: Stack) -> None:
    assert stack.gateway is not None
    context = browser.new_context()
    elsewhere: list[str] = []

    def only_the_gateway(route: Route) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_gateway)
    page = context.new_page()
    page.goto(f"{stack.gateway.url}/docs")
    # The merged document is large, and the machine the tests share may be busy: up to a minute.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Komagane", timeout=60_000)
    expect(page.locator(".opblock").first).to_be_visible(timeout=60_000)  # the operations, from the merged document
    assert elsewhere == []
    context.close()
