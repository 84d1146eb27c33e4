#!/usr/bin/env python3
"""The chat page and the admin console, driven in Debian's Chromium through Playwright.

Run by BrowserTests.swift, which starts a real gateway process (the shipped gateway.conf on a free
port) and passes: GATEWAY_URL, GATEWAY_TOKENS (JSON: name -> token), GATEWAY_CONFIG (the config
file the gateway runs on), SCREENSHOT_DIR and, when it runs an SMTP server (aiosmtpd) for the
gateway's smtp messenger, SMTP_MAILDIR. Usage: browser_scenarios.py SCENARIO.
Prints "PASS <scenario>" and exits 0, or prints what went wrong and exits 1.
"""
import json
import os
import struct
import sys
import time
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


def mails():
    """Every mail the SMTP server (aiosmtpd, a separate process) has received, as raw text."""
    folder = os.path.join(os.environ["SMTP_MAILDIR"], "new")
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    return [open(os.path.join(folder, name), encoding="utf-8", errors="replace").read() for name in names]


def wait_for_mail(matching):
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        found = [mail for mail in mails() if matching(mail)]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no matching mail arrived; received: {mails()}")


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


def rooms_conversation(browser):
    """Alice creates a room with Bob and Carol on her page; Bob's page lists it at once; Alice's
    message there raises Bob's unread count, which opening the room clears (Alice sees "read by
    Bob"); typing is scoped to the room; Carol, made `closed`, is refused with room.write_forbidden;
    a reloaded page loads the room's history without repeating an event."""
    alice = browser.chat(token=TOKENS["alice"])
    bob = browser.chat(token=TOKENS["bob"])
    carol = browser.chat(token=TOKENS["carol"])
    alice.fill("#new-room input[name=title]", "Support")
    alice.fill("#new-room input[name=members]", "bob, carol")
    alice.click("#new-room button")
    expect(alice.locator("#conversation")).to_have_text("Room: Support")
    room = alice.evaluate("window.chat.room")
    status, answer = api("PATCH", f"/api/v1/rooms/{room}/members/carol", TOKENS["alice"], {"state": "closed"})
    check(status == 200 and answer["state"] == "closed", f"carol not closed: {status} {answer}")

    bob_room = bob.locator("#rooms li", has_text="Support")
    expect(bob_room).to_have_count(1)  # told by a room.member frame: no reload, no new token
    alice.fill("#message", "welcome to the room")
    alice.click("#send")
    expect(events(alice, "welcome to the room").locator(".receipt")).to_have_text("sent")
    expect(bob_room.locator(".unread")).to_have_text("1")
    expect(events(bob, "welcome to the room")).to_have_count(1)
    expect(events(bob, "welcome to the room")).to_be_hidden()  # Bob looks at his direct messages

    bob_room.click()
    expect(bob.locator("#conversation")).to_have_text("Room: Support")
    expect(events(bob, "welcome to the room")).to_be_visible()
    expect(bob_room.locator(".unread")).to_have_text("")
    expect(events(alice, "welcome to the room").locator(".receipt")).to_have_text("read by Bob")
    status, listed = api("GET", "/api/v1/rooms", TOKENS["bob"])
    check(status == 200 and listed["rooms"][0]["unread"] == 0, f"Bob's unread count is not cleared: {listed}")

    bob.locator("#message").press_sequentially("on my way", delay=30)
    expect(alice.locator("#typing")).to_have_text("Bob is typing…")
    bob.click("#send")
    expect(events(alice, "on my way")).to_be_visible()

    carol.locator("#rooms li", has_text="Support").click()
    expect(carol.locator("#conversation")).to_have_text("Room: Support")
    expect(events(carol, "on my way")).to_be_visible()  # closed members still read
    carol.fill("#message", "may I speak?")
    carol.click("#send")
    expect(events(carol, "may I speak?").locator(".receipt")).to_contain_text("room.write_forbidden")

    bob.reload()  # the token is kept for the tab: signed in again, history loaded
    expect(bob.locator("#status")).to_have_text("connected")
    bob.locator("#rooms li", has_text="Support").click()
    for text in ("welcome to the room", "on my way"):
        expect(events(bob, text)).to_have_count(1)
        expect(events(bob, text)).to_be_visible()
    expect(events(bob, "on my way")).to_have_class("event mine")
    bob.locator("#message").press_sequentially("see you", delay=30)  # Alice's "is typing…" on the screenshot
    expect(alice.locator("#typing")).to_have_text("Bob is typing…")
    screenshot(alice, "rooms.png")
    check(events(alice, "may I speak?").count() == 0, "a closed member's message reached Alice")
    for page in (alice, bob, carol):
        check(page.evaluate("window.chat.duplicates") == 0, "an event arrived twice")


def messenger_test_from_the_console(browser):
    """The admin sends a test message through the smtp messenger (a real aiosmtpd process): the
    mail arrives; a malformed address is refused with the messenger's own code."""
    console = browser.admin(TOKENS["admin"])
    form = console.locator("#test-messenger")
    expect(form.locator("select option")).to_have_text(["smtp"])
    form.locator("input[name=address]").fill("bob@example.org")
    form.locator("button").click()
    expect(console.locator("#action-result")).to_contain_text("sent a test message through smtp to bob@example.org")
    mail = wait_for_mail(lambda text: "bob@example.org" in text)[0]
    check("Subject: Chat Gateway test message" in mail, f"not the test message: {mail}")

    form.locator("input[name=address]").fill("not an address")
    form.locator("button").click()
    expect(console.locator("#action-result")).to_contain_text("smtp.bad_address")
    check(len(mails()) == 1, f"a refused address was mailed: {mails()}")
    status, answer = api("POST", "/api/v1/admin/messengers/nope/test", TOKENS["admin"], {"address": "a@b.org"})
    check(status == 404 and answer["error"]["code"] == "admin.unknown_messenger", f"unknown messenger: {status} {answer}")
    status, answer = api("POST", "/api/v1/admin/messengers/smtp/test", TOKENS["admin"], {"address": 42})
    check(status == 400 and answer["error"]["code"] == "admin.bad_request", f"bad body: {status} {answer}")


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
                               ("POST", "/api/v1/admin/events", {"category": "x", "target": {"principals": ["bob"]}}),
                               ("POST", "/api/v1/admin/messengers/smtp/test", {"address": "bob@example.org"})]:
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
    "rooms": rooms_conversation,
    "messenger": messenger_test_from_the_console,
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
