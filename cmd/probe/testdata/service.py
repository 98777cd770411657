#!/usr/bin/env python3
"""A 360X service in Python, written from the contract alone, for the probe's
tests: it serves the API of offers.openapi.json (the demo's) with the standard
library only. --defect breaks one rule (see DEFECTS); without it the service
keeps the contract, and the probe must pass it.

    python3 service.py [--defect NAME] --log FILE

It prints "listening http://127.0.0.1:PORT" once it accepts connections.
"""

import argparse
import datetime
import json
import os
import re
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFECTS = {
    "": "none: keeps the contract",
    "order": "statusCode after message in the body",
    "allow": "no Allow header on a 405",
    "log-query": "the query string on the log line",
    "www-authenticate": "no WWW-Authenticate on a 401",
}

TOKEN = "good-token-for-tests"
BODY_LIMIT = 1 << 20
LIMIT = 25
TITLES = {
    400: "Validation Error", 401: "Invalid Token", 404: "Not Found",
    405: "Method Not Allowed", 413: "Request Entity Too Large",
    415: "Unsupported Media Type", 429: "Too Many Requests", 500: "Generic Error",
}
REQUIRED = ["product", "price", "currency", "quantity"]
OFFER = re.compile(r"^/api/v1/participant/offers/([^/]+)(/quote)?$")


def uuid7():
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits."""
    ms = datetime.datetime.now(datetime.timezone.utc).timestamp() * 1000
    b = bytearray(int(ms).to_bytes(6, "big") + os.urandom(10))
    b[6] = (b[6] & 0x0F) | 0x70
    b[8] = (b[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(b)))


class Service:
    def __init__(self, defect, log_path):
        self.defect = defect
        self.log = open(log_path, "a", encoding="utf-8")
        self.lock = threading.Lock()
        self.authed = 0

    def log_line(self, fields):
        with self.lock:
            self.log.write(json.dumps(fields, separators=(",", ":")) + "\n")
            self.log.flush()


def handler(service):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # the service's log is its own
            pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.body = self.rfile.read(min(length, BODY_LIMIT + 1))
            if length > BODY_LIMIT + 1:
                self.rfile.read(length - BODY_LIMIT - 1)
            self.raw_path, _, self.query = self.path.partition("?")
            path = self.raw_path
            if path == "/healthz":
                if self.command not in ("GET", "HEAD"):
                    return self.fail(405, "Method %s is not allowed." % self.command, "GET")
                return self.ok(200, b'{"status":"ok"}\n')
            if not path.startswith("/api/v1/"):
                return self.fail(404, "No route matches %s on this path." % self.command)
            if self.headers.get("Authorization") != "Bearer " + TOKEN:
                return self.fail(401, "Token is invalid")
            with service.lock:
                service.authed += 1
                limited = service.authed > LIMIT
            if limited:
                return self.fail(429, "Too many requests: retry in 60 seconds.")
            m = OFFER.match(path)
            if path == "/api/v1/participant/offers":
                if self.command in ("GET", "HEAD"):
                    return self.ok(200, b"[]\n")
                if self.command == "POST":
                    return self.create()
                return self.fail(405, "Method %s is not allowed." % self.command, "GET, POST")
            if m and not m.group(2):
                if self.command not in ("GET", "HEAD", "DELETE"):
                    return self.fail(405, "Method %s is not allowed." % self.command, "GET, DELETE")
                return self.fail(404, "Offer %s was not found." % json.dumps(m.group(1)))
            if m:
                if self.command not in ("GET", "HEAD"):
                    return self.fail(405, "Method %s is not allowed." % self.command, "GET")
                return self.fail(404, "Offer %s was not found." % json.dumps(m.group(1)))
            if path == "/api/v1/debug/panic":
                if self.command not in ("GET", "HEAD"):
                    return self.fail(405, "Method %s is not allowed." % self.command, "GET")
                return self.fail(500, "The server encountered an unexpected error. Quote the id to 360X support.")
            return self.fail(404, "No route matches %s on this path." % self.command)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

        def create(self):
            media = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if media != "application/json":
                return self.fail(415, "Content-Type %s is not supported. Use application/json." % json.dumps(media))
            if len(self.body) > BODY_LIMIT:
                return self.fail(413, "The request body exceeds the limit of %d bytes." % BODY_LIMIT)
            try:
                doc = json.loads(self.body)
            except ValueError:
                return self.fail(400, "The body is not valid JSON.")
            if not isinstance(doc, dict):
                return self.fail(400, "The body is not a JSON object.")
            missing = [a + ": is required" for a in REQUIRED if a not in doc]
            if missing:
                return self.fail(400, "; ".join(missing))
            return self.ok(201, b'{"id":"1"}\n')

        def ok(self, status, body):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def fail(self, status, detail, allow=None):
            id_ = uuid7()
            now = datetime.datetime.now(datetime.timezone.utc)
            env = {"id": id_, "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000)}
            if service.defect == "order":
                env["message"] = TITLES[status]
                env["statusCode"] = status
            else:
                env["statusCode"] = status
                env["message"] = TITLES[status]
            env["error"] = detail
            env["path"] = self.raw_path
            body = (json.dumps(env, separators=(",", ":")) + "\n").encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Request-Id", id_)
            if status == 401 and service.defect != "www-authenticate":
                self.send_header("WWW-Authenticate", 'Bearer error="invalid_token"')
            if status == 405 and service.defect != "allow":
                self.send_header("Allow", allow)
            if status == 429:
                self.send_header("Retry-After", "60")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            line = {"level": "error" if status >= 500 else "warn", "service": "py", "id": id_,
                    "method": self.command, "path": self.raw_path, "status": status, "message": TITLES[status]}
            if service.defect == "log-query" and self.query:
                line["query"] = self.query
            service.log_line(line)

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--defect", default="", choices=sorted(DEFECTS))
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(Service(args.defect, args.log)))
    print("listening http://127.0.0.1:%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
