"""A site's context service for the tests (Python's http.server): what pyams_chat's
GET /api/chat/context answers, per user.

USERS_FILE is a JSON object {sub: behaviour}; the caller is the `sub` of the bearer token's
payload (read, not verified: the gateway verified it). A behaviour is
  {"principals": [...], "title": "..."}   answered 200 with pyams_chat's shape
  {"delay": 3, ...}                        sleeps first (a slow service)
  {"status": 401}                          answers that status with an error body
  {"raw": "not json"}                      answers 200 with that body
A sub not in the file gets 401. Every request is appended to CALLS_FILE as one JSON line
{"sub", "path", "authorization"}. Prints "listening PORT" once bound.
Usage: python3 context_server.py USERS_FILE CALLS_FILE
"""
import base64
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

users_file, calls_file = sys.argv[1], sys.argv[2]


def subject(authorization):
    try:
        payload = authorization.split(" ", 1)[1].split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return json.loads(base64.urlsafe_b64decode(payload)).get("sub")
    except Exception:  # noqa: BLE001 - any malformed token is simply unknown
        return None


class Context(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        authorization = self.headers.get("Authorization", "")
        sub = subject(authorization)
        with open(calls_file, "a", encoding="utf-8") as out:
            out.write(json.dumps({"sub": sub, "path": self.path, "authorization": authorization}) + "\n")
        with open(users_file, encoding="utf-8") as source:
            behaviour = json.load(source).get(sub or "", {"status": 401})
        time.sleep(behaviour.get("delay", 0))
        status = behaviour.get("status", 200)
        if "raw" in behaviour:
            body = behaviour["raw"].encode()
        elif status != 200:
            body = json.dumps({"status": "error", "message": "Unauthorized"}).encode()
        else:
            body = json.dumps({
                "status": "success",
                "principal": {"id": sub, "title": behaviour.get("title", sub),
                              "principals": behaviour.get("principals", [])},
                "context": {"*": ["user.login"]},
            }).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Context)
server.daemon_threads = True
print("listening", server.server_address[1], flush=True)
server.serve_forever()
