#!/usr/bin/env python3
"""The chat page and the admin console, driven in Debian's Chromium through Playwright.

Run by BrowserTests.swift, which starts a real gateway process (the shipped gateway.conf on a free
port) and passes: GATEWAY_URL, GATEWAY_TOKENS (JSON: name -> token), GATEWAY_CONFIG (the config
file the gateway runs on) and SCREENSHOT_DIR. Usage: browser_scenarios.py SCENARIO.
Prints "PASS <scenario>" and exits 0, or prints what went wrong and exits 1.
"""
import json
import os
import struct
import sys
import urllib.error
import urllib.request
import zlib

from playwright.sync_api import expect, sync_playwright

BASE = os.environ["GATEWAY_URL"]
TOKENS = json.loads(os.environ["GATEWAY_TOKENS"])
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TIMEOUT_MS = 20_000  # generous: the machine is shared; nothing here asserts a duration
expect.set_options(timeout=TIMEOUT_MS)


def api(method, path, token=None, body=None):
    """One HTTP call, as any client would make it: (status, parsed JSON body)."""
    request = urllib.request.Request(BASE + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
        request.add_header("Origin", BASE)  # the pages' host: events reach the pages' connections
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def png(width, height):
    """A real PNG (RGB, zlib-compressed gradient) of the given size."""
    rows = b"".join(b"\x00" + bytes(channel for x in range(width) for channel in (x * 255 // width, y * 255 // height, 160))
                    for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def check(condition, message):
    if not condition:
        raise AssertionError(message)


class Browser:
    def __init__(self, playwright):
        self.browser = playwright.chromium.launch(executable_path=CHROMIUM)

    def page(self):
        context = self.browser.new_context(viewport={"width": 1100, "height": 760})
        page = context.new_page()
        page.on("pageerror", lambda error: print(f"page error: {error}", file=sys.stderr))
        return page

    def chat(self, token=None, dev_name=None):
        """A signed-in chat page, live: by pasting a token or through the development login."""
        page = self.page()
        page.goto(BASE + "/")
        if dev_name:
            page.fill("#dev-form input[name=name]", dev_name)
            page.click("#dev-form button")
        else:
            page.fill("#token-form textarea", token)
            page.click("#token-form button")
        expect(page.locator("#status")).to_have_text("connected")
        return page

    def admin(self, token):
        page = self.page()
        page.goto(BASE + "/admin")
        page.fill("#token-form textarea", token)
        page.click("#token-form button")
        expect(page.locator("#console")).to_be_visible()
        return page


def events(page, text):
    return page.locator("#events li", has_text=text)


def send(page, to, text):
    page.fill("#to", to)
    page.fill("#message", text)
    page.click("#send")


def connects(page):
    return page.evaluate("window.chat.connects")


def screenshot(page, name):
    if SCREENSHOTS:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=os.path.join(SCREENSHOTS, name), full_page=True)


# MARK: Scenarios

def two_users_chat(browser):
    """Alice (development login) and Bob (token) exchange messages, see typing and read marks."""
    alice = browser.chat(dev_name="Alice")
    bob = browser.chat(token=TOKENS["bob"])
    alice.fill("#to", "bob")
    alice.locator("#message").press_sequentially("hello Bob", delay=30)
    expect(bob.locator("#typing")).to_have_text("Alice is typing…")
    alice.click("#send")
    expect(events(bob, "hello Bob")).to_have_count(1)
    expect(events(alice, "hello Bob").locator(".receipt")).to_have_text("read by Bob")

    bob.fill("#to", "alice")
    bob.locator("#message").press_sequentially("hi Alice, the page works", delay=30)
    expect(alice.locator("#typing")).to_have_text("Bob is typing…")
    bob.click("#send")
    expect(events(alice, "hi Alice, the page works")).to_have_count(1)
    expect(events(bob, "hi Alice, the page works").locator(".receipt")).to_have_text("read by Alice")
    alice.set_input_files("#file", files=[{"name": "gradient.png", "mimeType": "image/png", "buffer": png(320, 200)}])
    alice.fill("#message", "a picture for you")
    alice.click("#send")
    thumbnail = events(bob, "a picture for you").locator("img.thumbnail")
    expect(thumbnail).to_be_visible()
    bob.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    alice.locator("#message").press_sequentially("see you", delay=30)  # leaves Bob's "is typing…" on screen
    expect(bob.locator("#typing")).to_have_text("Alice is typing…")
    screenshot(bob, "chat.png")
    check(alice.evaluate("window.chat.duplicates") == 0 and bob.evaluate("window.chat.duplicates") == 0,
          "an event arrived twice")


def reconnect_loses_nothing(browser):
    """Bob's network drops; an admin cuts his connection; events for him meanwhile arrive after the
    reconnect (resumed with last_id), each exactly once."""
    alice = browser.chat(token=TOKENS["alice"])
    bob = browser.chat(token=TOKENS["bob"])
    send(alice, "bob", "before the drop")
    expect(events(bob, "before the drop")).to_have_count(1)

    bob.context.set_offline(True)
    console = browser.admin(TOKENS["admin"])
    row = console.locator("#connections tbody tr", has_text="bob")
    expect(row).to_have_count(1)
    row.locator("button", has_text="disconnect").click()
    expect(console.locator("#action-result")).to_contain_text("disconnected bob")
    expect(console.locator("#connections tbody tr", has_text="bob")).to_have_count(0)

    missed = [f"missed {number}" for number in range(1, 4)]
    for text in missed:
        send(alice, "bob", text)
        expect(events(alice, text).locator(".receipt")).to_have_text("sent")
    for number in (4, 5):
        status, answer = api("POST", "/api/v1/events", TOKENS["alice"],
                             {"category": "chat.message", "message": f"missed {number}",
                              "target": {"principals": ["bob"]}})
        check(status == 202, f"publish refused: {status} {answer}")
        missed.append(f"missed {number}")
    bob.wait_for_timeout(1500)  # time for anything that could leak through the cut to show up
    check(connects(bob) == 1, "Bob's page reconnected while its network was down")
    for text in missed:
        check(events(bob, text).count() == 0, f"'{text}' reached Bob while his network was down")

    bob.context.set_offline(False)
    expect(bob.locator("#status")).to_have_text("connected")
    for text in missed:
        expect(events(bob, text)).to_have_count(1)
    check(connects(bob) == 2, f"expected exactly one reconnect, saw {connects(bob) - 1}")
    check(bob.evaluate("window.chat.duplicates") == 0, "the resume repeated an event")
    expect(events(bob, "before the drop")).to_have_count(1)


def image_upload_shows_thumbnail(browser):
    """Alice sends a real 320x200 PNG; both see a thumbnail; Bob opens the original."""
    alice = browser.chat(token=TOKENS["alice"])
    bob = browser.chat(token=TOKENS["bob"])
    alice.fill("#to", "bob")
    alice.fill("#message", "a picture")
    alice.set_input_files("#file", files=[{"name": "gradient.png", "mimeType": "image/png", "buffer": png(320, 200)}])
    alice.click("#send")
    for page in (alice, bob):
        thumbnail = events(page, "a picture").locator("img.thumbnail")
        expect(thumbnail).to_be_visible()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
        size = thumbnail.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        check(size == [100, 62] or size == [100, 63], f"thumbnail is {size}, expected 100 wide, 320x200 scaled")
    events(bob, "a picture").locator("img.thumbnail").click()
    expect(bob.locator("#viewer")).to_be_visible()
    bob.wait_for_function("() => document.querySelector('#original').naturalWidth === 320")
    check(bob.evaluate("document.querySelector('#original').naturalHeight") == 200, "the original is not 320x200")


def admin_toggles_plugin(browser):
    """The admin turns the secret-messages filter off (and writes gateway.conf); the next secret
    message reaches Bob unredacted, and neither chat page reconnects."""
    alice = browser.chat(token=TOKENS["alice"])
    bob = browser.chat(token=TOKENS["bob"])
    secret = {"category": "chat.message", "type": "secret", "target": {"principals": ["bob"]}}
    status, _ = api("POST", "/api/v1/events", TOKENS["alice"], {**secret, "message": "launch code 1"})
    check(status == 202, f"publish refused: {status}")
    expect(events(bob, "This message is not visible to you.")).to_have_count(1)

    console = browser.admin(TOKENS["admin"])
    expect(console.locator("#connection-count")).to_have_text("2")
    plugin_row = console.locator("#plugins tbody tr", has_text="secret-messages")
    expect(plugin_row).to_contain_text("message-type-filter")
    console.check("#persist")
    plugin_row.locator("input[type=checkbox]").uncheck()
    expect(console.locator("#action-result")).to_contain_text("disabled secret-messages and wrote gateway.conf")
    expect(plugin_row).to_have_class("disabled")
    status, plugins = api("GET", "/api/v1/admin/plugins", TOKENS["admin"])
    check(status == 200 and not next(p for p in plugins if p["entry"] == "secret-messages")["enabled"],
          f"the admin API does not show the plugin disabled: {plugins}")

    status, _ = api("POST", "/api/v1/events", TOKENS["alice"], {**secret, "message": "launch code 2"})
    check(status == 202, f"publish refused: {status}")
    expect(events(bob, "launch code 2")).to_have_count(1)

    console.fill("#test-event input[name=to]", "alice")
    console.fill("#test-event input[name=message]", "hello from the console")
    console.click("#test-event button")
    expect(events(alice, "hello from the console")).to_have_count(1)
    for page in (alice, bob):
        check(connects(page) == 1 and page.evaluate("window.chat.socket.readyState") == 1,
              "a chat page lost its connection during the toggle")
    console.wait_for_timeout(2500)  # one refresh with traffic: rates and calls on the screenshot
    screenshot(console, "admin.png")


def non_admin_is_refused(browser):
    """A valid token without the admin scope gets 403 admin.forbidden: the page and the API."""
    console = browser.page()
    console.goto(BASE + "/admin")
    console.fill("#token-form textarea", TOKENS["carol"])
    console.click("#token-form button")
    expect(console.locator("#sign-in-error")).to_contain_text("admin.forbidden")
    expect(console.locator("#console")).to_be_hidden()
    for method, path, body in [("GET", "/api/v1/admin/overview", None), ("GET", "/api/v1/admin/connections", None),
                               ("POST", "/api/v1/admin/plugins/secret-messages", {"enabled": False}),
                               ("POST", "/api/v1/admin/events", {"category": "x", "target": {"principals": ["bob"]}})]:
        status, answer = api(method, path, TOKENS["carol"], body)
        check(status == 403 and answer["error"]["code"] == "admin.forbidden", f"{method} {path}: {status} {answer}")
        status, answer = api(method, path, None, body)
        check(status == 401 and answer["error"]["code"] == "auth.missing_token", f"{method} {path} without a token: {status}")
    status, plugins = api("GET", "/api/v1/admin/plugins", TOKENS["admin"])
    check(next(p for p in plugins if p["entry"] == "secret-messages")["enabled"], "a refused toggle changed the chain")


SCENARIOS = {
    "chat": two_users_chat,
    "reconnect": reconnect_loses_nothing,
    "upload": image_upload_shows_thumbnail,
    "admin": admin_toggles_plugin,
    "forbidden": non_admin_is_refused,
}

if __name__ == "__main__":
    name = sys.argv[1]
    with sync_playwright() as playwright:
        browser = Browser(playwright)
        try:
            SCENARIOS[name](browser)
        except Exception as error:  # noqa: BLE001 - report any failure as the scenario's
            print(f"FAIL {name}: {type(error).__name__}: {error}")
            sys.exit(1)
        finally:
            browser.browser.close()
    print(f"PASS {name}")
