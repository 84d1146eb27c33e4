"""The real pyams_chat 2.x against the gateway, as a PyAMS site would run it.

Runs in the pyams venv (scripts/install-deps.sh). Publishes with pyams_chat's own
ChatMessage.send() (its source, target-handler and Redis publish code, unchanged, in a
transaction as a Pyramid request would), listens with `websockets` clients on /ws/chat with the
`accessToken` subprotocol as pyams_chat's service worker does, and reads pyams_chat's own
get_notifications. Prints one JSON report of what every client received; the Swift test
(PyamsEndToEndTests) judges it.

The least setup around the real code: a Pyramid testing registry holding pyams_chat's Redis
client (client_from_config, as its includeme does), a principal directory standing in for the
site's security manager, a user-profile adapter giving avatars (pyams_zmi's IUserProfile), and two
IChatMessageHandler adapters, which is how a site adds categories.

Usage: python pyams_end_to_end.py SETTINGS_JSON   (keys: ws_url, redis_url, site, other_origin,
tokens {alice, bob, carol, dave, expired}, bob_principals)
"""
import asyncio
import json
import sys
import time

import transaction
from pyramid import testing
from websockets.asyncio.client import connect
from zope.interface import implementer

from pyams_chat.api import get_notifications
from pyams_chat.include import client_from_config
from pyams_chat.interfaces import IChatMessage, IChatMessageHandler, IRedisClient
from pyams_chat.message import ChatMessage
from pyams_security.interfaces import ISecurityManager
from pyams_security.interfaces.base import IPrincipalInfo
from pyams_security.principal import PrincipalInfo
from pyams_zmi.interfaces.profile import IUserProfile

with open(sys.argv[1], encoding="utf-8") as source:
    SETTINGS = json.load(source)
SITE = SETTINGS["site"]
TOKENS = SETTINGS["tokens"]
AVATARS = "https://cdn.example.org/avatars"


@implementer(ISecurityManager)
class Directory:
    """The site's principals: 'users:alice' is titled 'Alice'."""

    def get_principal(self, principal_id, info=True):  # noqa: ARG002 - ISecurityManager's signature
        return PrincipalInfo(id=principal_id, title=principal_id.split(":")[-1].title())


class Profile:
    """pyams_zmi's user profile, reduced to the avatar ChatMessage.get_source asks for."""

    def __init__(self, principal):
        self.principal = principal

    def get_avatar(self, size=None):
        return f"{AVATARS}/{self.principal.id}-{size}.png"


class DirectTarget:
    """chat.direct: to Bob — and to the sender, whom the server must still leave out."""

    def __init__(self, message):
        self.message = message

    def get_target(self):
        return {"principals": ["users:bob", "users:alice"]}


class StaffTarget:
    """staff.news: to a group that no token names; only the context service knows its members."""

    def __init__(self, message):
        self.message = message

    def get_target(self):
        return {"principals": ["groups:staff"]}


def make_registry():
    settings = {
        "pyams_chat.redis_server": SETTINGS["redis_url"],
        "pyams_chat.channel_name": "chat:main",
        "pyams_chat.notifications_key": "chat:notifications",
    }
    config = testing.setUp(settings=settings)
    # Bob is the signed-in user of get_notifications' request (pyams_security's policy gives the
    # identity its principals the same way).
    config.testing_securitypolicy(userid="users:bob", identity={"principals": SETTINGS["bob_principals"]})
    config.commit()
    registry = config.registry
    registry.registerUtility(client_from_config(settings), IRedisClient)
    registry.registerUtility(Directory(), ISecurityManager)
    registry.registerAdapter(Profile, (IPrincipalInfo,), IUserProfile)
    registry.registerAdapter(DirectTarget, (IChatMessage,), IChatMessageHandler, name="chat.direct")
    registry.registerAdapter(StaffTarget, (IChatMessage,), IChatMessageHandler, name="staff.news")
    return registry


def site_request(registry):
    request = testing.DummyRequest()
    request.registry = registry
    request.host_url = SITE
    return request


def send(registry, **fields):
    """What a PyAMS view does: ChatMessage(...).send(), published when the transaction commits."""
    transaction.begin()
    ChatMessage(site_request(registry), action="notify", source="users:alice", **fields).send()
    transaction.commit()


async def listen(name, token, origin, received):
    websocket = await connect(SETTINGS["ws_url"], subprotocols=["accessToken", token], origin=origin,
                              open_timeout=60)

    async def read():
        async for text in websocket:
            received[name].append(json.loads(text))

    return websocket, asyncio.create_task(read())


async def wait_for(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def main():
    registry = make_registry()
    clients = {
        "bob": ("bob", SITE),
        "bob_other_origin": ("bob", SETTINGS["other_origin"]),
        "alice_1": ("alice", SITE),
        "alice_2": ("alice", SITE),
        "dave": ("dave", SITE),
        "carol": ("carol", SITE),
    }
    received = {name: [] for name in clients}
    sockets = {}
    for name, (user, origin) in clients.items():
        sockets[name] = await listen(name, TOKENS[user], origin, received)
    report = {"subprotocols": {name: socket.subprotocol for name, (socket, _) in sockets.items()}}

    # 1. A direct message with an image, from Alice to Bob.
    send(registry, category="chat.direct", title="New comment", message="Alice commented your page",
         image=f"{SITE}/images/comment.png", url=f"{SITE}/pages/1#comments", modal=False)
    await wait_for(lambda: received["bob"])
    await asyncio.sleep(1.5)  # anything sent to the wrong client arrives with Bob's copy
    report["direct"] = {name: list(messages) for name, messages in received.items()}
    for messages in received.values():
        messages.clear()

    # 2. A message to groups:staff (Alice and Dave are members, per the context service only).
    send(registry, category="staff.news", title="Staff meeting", message="At 10:00")
    await wait_for(lambda: received["dave"])
    await asyncio.sleep(1.5)
    report["group"] = {name: list(messages) for name, messages in received.items()}

    # 3. pyams_chat's get_notifications, unchanged, as Bob's browser would call it.
    request = site_request(registry)
    request.principal = PrincipalInfo(id="users:bob", title="Bob")
    request.redis_client = registry.getUtility(IRedisClient)
    notifications = []
    deadline = time.monotonic() + 30
    while not notifications and time.monotonic() < deadline:
        notifications = get_notifications(request)["notifications"]
        if not notifications:
            await asyncio.sleep(0.1)
    report["notifications"] = notifications

    # 4. An expired token on /ws/chat: pyams_chat's service worker waits for the logout frame.
    async with connect(SETTINGS["ws_url"], subprotocols=["accessToken", TOKENS["expired"]], origin=SITE,
                       open_timeout=60) as expired:
        report["expired_subprotocol"] = expired.subprotocol
        report["expired_frame"] = json.loads(await asyncio.wait_for(expired.recv(), 30))
        try:
            await asyncio.wait_for(expired.recv(), 30)
        except Exception:  # noqa: BLE001 - the close is what is expected here
            pass
        report["expired_close"] = [expired.close_code, expired.close_reason]

    # Closed together: each close handshake waits for the server to end the TCP connection.
    await asyncio.gather(*(socket.close() for socket, _ in sockets.values()))
    for _, reader in sockets.values():
        reader.cancel()
    print(json.dumps(report), flush=True)


asyncio.run(main())
