"""A real HTTP server for the webhook and Telegram messenger tests (Python's http.server).

Every POST is appended to RECORD_FILE as one JSON line {"path", "headers", "body"} and answered
with STATUS (an argument, default 200) and {"ok": true}. Prints "listening PORT" once bound.
Usage: python3 record_server.py RECORD_FILE [STATUS]
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

record_file = sys.argv[1]
status = int(sys.argv[2]) if len(sys.argv) > 2 else 200


class Recorder(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8")
        with open(record_file, "a", encoding="utf-8") as out:
            out.write(json.dumps({"path": self.path, "headers": dict(self.headers), "body": body}) + "\n")
        answer = json.dumps({"ok": status < 300}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
print("listening", server.server_address[1], flush=True)
server.serve_forever()
