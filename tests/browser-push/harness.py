#!/usr/bin/env python3
"""A real browser receives a Web Push from the server, fully offline (issue 6).

Two scenarios, each with its own server (`serve --demo`), fake push service and Firefox profile:

* `test-page` — headless Firefox ESR gets a fresh profile whose `dom.push.serverURL` points at a
  loopback fake of Mozilla's autopush WebSocket protocol. A page (served here, with /api/ proxied
  to the real server so that it is one origin) registers a service worker, subscribes with the
  server's VAPID public key and posts the subscription to the server. Then `pass-emploi-server
  web-push test` makes the server push through its WebPushChannel: the request (aes128gcm, VAPID)
  reaches the fake push service's HTTP side, which relays it over the WebSocket; Firefox decrypts
  it, the service worker receives it and the page reports the text back here.

* `web-app` — the advisers' web app itself, driven through Marionette (a small client below: no
  Selenium, no geckodriver). On the server's own origin Firefox signs in through the real sign-in
  form as the demo adviser, opens /notifications and clicks « Activer les notifications du
  navigateur » (the app's /static/app.js registers /sw.js, subscribes, posts to
  /notifications/abonnement). Then a young person of the adviser's portfolio completes an action
  through the REST API; the outbox's Web Push row goes out through the delivery workers, the fake
  push service relays it, and the app's service worker shows it: its title and body must be the
  server's French text (never the action's title) and its data.url the action's page.
  Then the adviser clicks « Se déconnecter » in the page header: app.js posts the endpoint to
  /notifications/desabonnement and unsubscribes before the form goes; the page must land on the
  sign-in page, the registration must have no subscription left, the server's push_subscriptions
  no row for the endpoint; and when the young person completes a second action, the fake push
  service must get no request for 8 s and getNotifications() must still list the first one only.
  (What the page logs, posts and gets from unsubscribe() at sign-out is recorded in
  sessionStorage and printed; the server logs one line per request, tower_http at debug.)

Usage: harness.py SERVER_BIN [test-page] [web-app]   (both by default; run by tests/browser-push/run)
Env: BROWSER_PUSH_BUDGET (seconds for all the scenarios, default 85), KEEP_DATA=1,
     BROWSER_PUSH_FORCE_DAYTIME_ZONE=1 (move the adviser to a daytime zone even outside quiet hours,
     to exercise that path).
"""

import asyncio
import base64
import datetime
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import zoneinfo

import websockets.exceptions
from websockets.asyncio.server import serve as ws_serve

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED_BODY = "Notification de test : les notifications de ce navigateur fonctionnent."
# The web app scenario's adviser and young person (the demo's first young person is Karim's).
WEB_ADVISER = "karim.mansouri@ml-lyon.example.org"
WEB_YOUNG_PERSON = "ines.benali@exemple.fr"
# server/src/notifications/outbox.rs, EventKind::ActionCompleted by the young person.
ACTION_DONE_TITLE = "Action terminée"
ACTION_DONE_BODY = "{first} a terminé une action."
# server/web/static/app.js: #push-status while the button subscribes.
SUBSCRIBING = "Activation en cours…"
# With no push for a signed-out browser, how long the fake autopush must stay silent.
SILENCE_SECONDS = 8


def say(*args):
    print("browser-push:", *args, flush=True)


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Failure(Exception):
    """A check that failed: its message is the diagnosis."""


class Common:
    """What both scenarios share: the real server, the fake autopush, Firefox's profile."""

    name = "?"

    def __init__(self, server_bin, work):
        self.server_bin = server_bin
        self.work = work
        self.server = None
        self.server_url = None
        self.server_out = ""
        self.firefox = None
        self.adviser_email = None
        self.password = None
        self.young_people = []  # (email, name) in the demo's order
        # The fake push service.
        self.channels = {}  # channelID -> websocket
        self.channel_keys = {}  # channelID -> applicationServerKey (b64url, from "register")
        self.acks = asyncio.Queue()
        self.push_requests = []
        self.hellos = 0  # WebSocket handshakes from Firefox's push service
        self.unregistered = []  # channelIDs Firefox unsubscribed ("unregister")
        self.servers = []
        self.log = []

    # ---- the real server -----------------------------------------------------------------

    def server_env(self):
        env = dict(os.environ)
        env.update(
            {
                "RUST_LOG": env.get("RUST_LOG", "info,sqlx=warn,tower_http=warn"),
                "NO_COLOR": "1",  # server.log is read by people
                "PASS_EMPLOI_DATA_DIR": os.path.join(self.work, "data"),
                # Only the loopback fake: the default allowlist is replaced.
                "PASS_EMPLOI_WEB_PUSH_ALLOWED_HOSTS": "127.0.0.1",
                "PASS_EMPLOI_WEB_PUSH_SUBJECT": "mailto:equipe-tests@pass-emploi.example",
                "PASS_EMPLOI_ARGON2_MEMORY_KIB": "256",
                "PASS_EMPLOI_ARGON2_ITERATIONS": "1",
            }
        )
        env.pop("DATABASE_URL", None)
        return env

    async def start_server(self):
        out = open(os.path.join(self.work, "server.out"), "w")
        err = open(os.path.join(self.work, "server.log"), "w")
        self.server = subprocess.Popen(
            [self.server_bin, "--listen", "127.0.0.1:0", "serve", "--demo"],
            env=self.server_env(),
            stdout=out,
            stderr=err,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            text = open(os.path.join(self.work, "server.out")).read()
            m = re.search(r"listening on (http://\S+)", text)
            if m:
                self.server_url = m.group(1)
                self.server_out = text
                for line in text.splitlines():
                    parts = line.split()
                    if len(parts) >= 2 and parts[0] == "adviser" and "@" in parts[1] and not self.adviser_email:
                        self.adviser_email = parts[1]
                    if len(parts) >= 2 and parts[0] == "young_person" and "@" in parts[1]:
                        self.young_people.append((parts[1], " ".join(parts[2:])))
                break
            if self.server.poll() is not None:
                raise Failure(f"the server exited early (status {self.server.returncode})")
            await asyncio.sleep(0.2)
        if not self.server_url or not self.adviser_email:
            raise Failure("the server did not start within 30 s (or printed no adviser login)")
        password = re.search(r"mot de passe commun : (\S+)", self.server_out)
        if not password:
            raise Failure("the demo printed no common password")
        self.password = password.group(1)

    async def login(self, email):
        """Signs in through the REST API: (access token, GET /api/v1/me)."""
        status, body = await asyncio.to_thread(
            self.api, "POST", "/api/v1/auth/login", json.dumps({"email": email, "password": self.password}).encode()
        )
        if status != 200:
            raise Failure(f"login {email}: {status} {body!r}")
        token = json.loads(body)["access_token"]
        status, body = await asyncio.to_thread(self.api, "GET", "/api/v1/me", None, self.bearer(token))
        if status != 200:
            raise Failure(f"GET /api/v1/me ({email}): {status} {body!r}")
        return token, json.loads(body)

    @staticmethod
    def bearer(token):
        return {"Authorization": f"Bearer {token}"}

    def api(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.server_url + path, data=body, method=method)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    async def start_fakes(self):
        ws_server = await ws_serve(self.autopush_ws, "127.0.0.1", 0, subprotocols=["push-notification"])
        self.ws_port = ws_server.sockets[0].getsockname()[1]
        push_server = await asyncio.start_server(self.push_http, "127.0.0.1", 0)
        self.push_port = push_server.sockets[0].getsockname()[1]
        self.servers += [ws_server, push_server]
        self.log.append(f"fake autopush ws://127.0.0.1:{self.ws_port}, push http://127.0.0.1:{self.push_port}")

    async def ack_of(self, version, timeout):
        """Firefox's ack of the message relayed with this version ({} if none came in time)."""
        deadline = time.time() + timeout
        while True:
            try:
                ack = await asyncio.wait_for(self.acks.get(), max(0.01, deadline - time.time()))
            except asyncio.TimeoutError:
                return {}
            self.log.append(f"ack {ack}")
            if ack.get("version") == version:
                return ack

    def check_push_request(self, problems, urgency=None):
        """The last request the server posted to the fake push service passed its checks."""
        if not self.push_requests:
            problems.append("the server posted nothing to the fake push service")
            return {}
        req = self.push_requests[-1]
        if req.get("problems"):
            problems.append(f"push request refused by the fake autopush: {req['problems']}")
        if urgency and req["headers"].get("urgency") != urgency:
            problems.append(f"Urgency {req['headers'].get('urgency')!r}, expected {urgency!r}")
        return req

    # ---- the fake autopush: WebSocket side ----------------------------------------------

    async def autopush_ws(self, ws):
        try:
            await self.autopush_session(ws)
        except websockets.exceptions.ConnectionClosed:
            self.log.append("ws closed")  # Firefox quits without a close frame

    async def autopush_session(self, ws):
        async for raw in ws:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            kind = msg.get("messageType")
            if kind == "hello":
                uaid = msg.get("uaid") or uuid.uuid4().hex
                await ws.send(json.dumps({"messageType": "hello", "uaid": uaid, "status": 200, "use_webpush": True}))
                self.log.append("ws hello")
                self.hellos += 1
            elif kind == "register":
                channel = msg["channelID"]
                self.channels[channel] = ws
                self.channel_keys[channel] = msg.get("key", "")
                endpoint = f"http://127.0.0.1:{self.push_port}/wpush/{channel}"
                await ws.send(
                    json.dumps(
                        {"messageType": "register", "channelID": channel, "status": 200, "pushEndpoint": endpoint}
                    )
                )
                self.log.append(f"ws register {channel}")
            elif kind == "unregister":
                self.unregistered.append(msg.get("channelID"))
                self.log.append(f"ws unregister {msg.get('channelID')}")
                await ws.send(json.dumps({"messageType": "unregister", "channelID": msg.get("channelID"), "status": 200}))
            elif kind == "ack":
                for update in msg.get("updates", []):
                    await self.acks.put(update)
            elif kind is None:
                await ws.send("{}")  # ping

    # ---- the fake autopush: HTTP side (RFC 8030) -----------------------------------------

    async def push_http(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status, reason = self.relay(method, path, headers, body)
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nLocation: /m/{uuid.uuid4()}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            await writer.drain()
        except Exception as e:  # noqa: BLE001 - a test fake: log and close
            self.log.append(f"push http error: {e!r}")
        finally:
            writer.close()

    def relay(self, method, path, headers, body):
        m = re.fullmatch(r"/wpush/([^/?]+)", path)
        if method != "POST" or not m:
            return 404, "Not Found"
        channel = m.group(1)
        ws = self.channels.get(channel)
        if ws is None:
            return 410, "Gone"
        request = {"headers": headers, "length": len(body), "channel": channel, "at": time.time()}
        self.push_requests.append(request)
        # What autopush checks: the encoding, a TTL, and VAPID with the key the browser subscribed
        # with (the Rust tests verify the ES256 signature itself).
        problems = []
        if headers.get("content-encoding") != "aes128gcm":
            problems.append("content-encoding")
        if not headers.get("ttl", "").isdigit():
            problems.append("ttl")
        auth = headers.get("authorization", "")
        vapid = dict(p.strip().split("=", 1) for p in auth[len("vapid ") :].split(",") if "=" in p)
        subscribed_key = self.channel_keys.get(channel, "").rstrip("=")
        if not auth.startswith("vapid ") or vapid.get("k", "").rstrip("=") != subscribed_key:
            problems.append("vapid key")
        else:
            try:
                claims = json.loads(b64url_decode(vapid["t"].split(".")[1]))
                if claims.get("aud") != f"http://127.0.0.1:{self.push_port}":
                    problems.append(f"aud {claims.get('aud')}")
                if not (time.time() < claims.get("exp", 0) <= time.time() + 24 * 3600):
                    problems.append("exp")
                if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
                    problems.append("sub")
            except (ValueError, KeyError, IndexError) as e:
                problems.append(f"jwt {e!r}")
        if problems:
            request["problems"] = problems
            return 401, "Unauthorized"
        version = str(uuid.uuid4())
        request["version"] = version
        message = {
            "messageType": "notification",
            "channelID": channel,
            "version": version,
            "data": base64.urlsafe_b64encode(body).decode().rstrip("="),
            "headers": {"encoding": "aes128gcm"},
        }
        asyncio.get_running_loop().create_task(ws.send(json.dumps(message)))
        self.log.append(f"relayed {len(body)} bytes to {channel}")
        return 201, "Created"

    # ---- Firefox ----------------------------------------------------------------------------

    def start_firefox(self, url, extra_prefs=None, extra_args=()):
        profile = os.path.join(self.work, "profile")
        os.makedirs(profile)
        prefs = {
            # The push service: our loopback fake, over ws:// (allowed for testing).
            "dom.push.serverURL": f"ws://127.0.0.1:{self.ws_port}",
            "dom.push.testing.allowInsecureServerURL": True,
            "dom.push.connection.enabled": True,
            "dom.push.enabled": True,
            "dom.push.testing.ignorePermission": True,
            "dom.serviceWorkers.enabled": True,
            "permissions.default.desktop-notification": 1,
            "notification.prompt.testing": True,
            "notification.prompt.testing.allow": True,
            # Headless, without a desktop notification daemon on D-Bus, the system backend (libnotify)
            # makes every showNotification() reject with NS_ERROR_FAILURE: use Firefox's own alerts.
            "alerts.useSystemBackend": False,
            # Offline: every remote request goes to a dead proxy on loopback; nothing leaves.
            "network.proxy.type": 1,
            "network.proxy.http": "127.0.0.1",
            "network.proxy.http_port": 9,
            "network.proxy.ssl": "127.0.0.1",
            "network.proxy.ssl_port": 9,
            "network.proxy.no_proxies_on": "127.0.0.1,localhost",
            "network.proxy.allow_hijacking_localhost": False,
            "network.trr.mode": 5,
            "network.dns.disablePrefetch": True,
            "network.prefetch-next": False,
            "network.http.speculative-parallel-limit": 0,
            "network.connectivity-service.enabled": False,
            "network.captive-portal-service.enabled": False,
            "browser.safebrowsing.malware.enabled": False,
            "browser.safebrowsing.phishing.enabled": False,
            "browser.safebrowsing.downloads.enabled": False,
            "browser.safebrowsing.update.enabled": False,
            "datareporting.policy.dataSubmissionEnabled": False,
            "datareporting.healthreport.uploadEnabled": False,
            "toolkit.telemetry.enabled": False,
            "toolkit.telemetry.reportingpolicy.firstRun": False,
            "app.normandy.enabled": False,
            "app.update.auto": False,
            "app.update.enabled": False,
            "extensions.update.enabled": False,
            "extensions.getAddons.cache.enabled": False,
            "extensions.systemAddon.update.enabled": False,
            "browser.search.update": False,
            "browser.shell.checkDefaultBrowser": False,
            "browser.startup.homepage_override.mstone": "ignore",
            "browser.newtabpage.enabled": False,
            "browser.aboutwelcome.enabled": False,
            "services.settings.server": "http://127.0.0.1:9/v1",
            "media.gmp-manager.url": "http://127.0.0.1:9/",
            "browser.region.network.url": "",
        }
        prefs.update(extra_prefs or {})
        with open(os.path.join(profile, "user.js"), "w") as f:
            for k, v in prefs.items():
                f.write(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n")
        firefox = shutil.which("firefox-esr") or shutil.which("firefox")
        env = dict(os.environ, MOZ_HEADLESS="1", HOME=self.work)
        self.firefox = subprocess.Popen(
            [firefox, "--headless", "--no-remote", "--profile", profile, *extra_args, url],
            env=env,
            stdout=open(os.path.join(self.work, "firefox.log"), "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self):
        for s in self.servers:
            s.close()
        if self.firefox and self.firefox.poll() is None:
            try:
                os.killpg(self.firefox.pid, signal.SIGTERM)
                self.firefox.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.firefox.pid, signal.SIGKILL)
                    self.firefox.wait(5)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
        if self.server and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(5)


class TestPageScenario(Common):
    """The harness's own page and `web-push test` (the push pipeline alone)."""

    name = "test-page"

    def __init__(self, server_bin, work):
        super().__init__(server_bin, work)
        self.token = None
        # What the page and the service worker report.
        self.reports = asyncio.Queue()

    # ---- the page's origin: static files, /report, and /api/ proxied to the server ----------

    async def page_http(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            route = path.split("?", 1)[0]
            ctype = "text/plain"
            if route == "/":
                status, out, ctype = 200, open(os.path.join(HERE, "index.html"), "rb").read(), "text/html; charset=utf-8"
            elif route == "/sw.js":
                status, out, ctype = 200, open(os.path.join(HERE, "sw.js"), "rb").read(), "text/javascript"
            elif route == "/report" and method == "POST":
                await self.reports.put(json.loads(body or b"{}"))
                status, out = 204, b""
            elif route.startswith("/api/"):
                fwd = {k: v for k, v in headers.items() if k in ("authorization",)}
                status, out = await asyncio.to_thread(self.api, method, path, body or None, fwd)
                ctype = "application/json"
            elif route == "/favicon.ico":
                status, out = 404, b""
            else:
                status, out = 404, b"not found"
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {len(out)}\r\n"
                "Cache-Control: no-store\r\nConnection: close\r\n\r\n".encode()
                + out
            )
            await writer.drain()
        except Exception as e:  # noqa: BLE001 - a test fake: log and close
            self.log.append(f"page http error: {e!r}")
        finally:
            writer.close()

    # ---- the scenario -----------------------------------------------------------------------

    async def wait_report(self, key, timeout):
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise Failure(f"no {key!r} report from the page within {timeout} s")
            try:
                report = await asyncio.wait_for(self.reports.get(), left)
            except asyncio.TimeoutError:
                raise Failure(f"no {key!r} report from the page within {timeout} s") from None
            self.log.append(f"report {json.dumps(report)[:300]}")
            if "error" in report:
                raise Failure(f"the page failed: {report['error']}")
            if key in report:
                return report

    async def run(self):
        await self.start_server()
        self.token, _ = await self.login(self.adviser_email)
        say(f"[{self.name}] server at {self.server_url}, adviser {self.adviser_email}")
        await self.start_fakes()
        page_server = await asyncio.start_server(self.page_http, "127.0.0.1", 0)
        self.servers.append(page_server)
        page_port = page_server.sockets[0].getsockname()[1]
        say(f"[{self.name}] fake autopush ws://127.0.0.1:{self.ws_port}, push http://127.0.0.1:{self.push_port}, page :{page_port}")

        started = time.time()
        self.start_firefox(f"http://127.0.0.1:{page_port}/?token={self.token}")
        sub = await self.wait_report("subscribed", 40)
        if sub["subscribed"] != 201:
            raise Failure(f"the server refused the subscription: {sub}")
        if not sub["endpoint"].startswith(f"http://127.0.0.1:{self.push_port}/wpush/"):
            raise Failure(f"unexpected endpoint {sub['endpoint']}")
        say(f"[{self.name}] subscribed in {time.time() - started:.1f} s (attempts: {sub.get('attempts')})")

        # The server pushes, through its WebPushChannel.
        test = await asyncio.create_subprocess_exec(
            self.server_bin,
            "web-push",
            "test",
            "--email",
            self.adviser_email,
            env=self.server_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(test.communicate(), 30)
        except asyncio.TimeoutError:
            test.kill()
            await test.wait()
            raise Failure("web-push test did not finish within 30 s") from None
        say(f"[{self.name}] web-push test: {out.decode().strip()}")
        if test.returncode != 0:
            raise Failure(f"web-push test failed: {err.decode()[-2000:]}")

        got = await self.wait_report("received", 30)
        message = got["received"]
        try:
            ack = await asyncio.wait_for(self.acks.get(), 10)
        except asyncio.TimeoutError:
            raise Failure("Firefox did not ack the push to the fake autopush within 10 s") from None
        problems = []
        if message.get("body") != EXPECTED_BODY:
            problems.append(f"body {message.get('body')!r}")
        if message.get("title") != "Pass emploi" or message.get("kind") != "test":
            problems.append(f"title/kind {message!r}")
        if ack.get("code") != 100:
            problems.append(f"ack code {ack.get('code')} (100 = delivered, 101 = decryption failed)")
        req = self.check_push_request(problems)
        if problems:
            raise Failure("; ".join(problems))
        say(f"[{self.name}] the page received {message['body']!r} (Urgency {req['headers'].get('urgency')}, "
            f"TTL {req['headers'].get('ttl')}, Topic {req['headers'].get('topic')}), "
            f"{time.time() - started:.1f} s after Firefox started")


# ---- a minimal Marionette client (Firefox's own remote protocol; no geckodriver) -------------


class MarionetteError(Failure):
    def __init__(self, command, error):
        self.error = error if isinstance(error, dict) else {"error": str(error)}
        super().__init__(f"{command}: {self.error.get('error')}: {self.error.get('message', '')[:500]}")


class Marionette:
    """Marionette's wire protocol: `<byte length>:<json>` packets over TCP. The server speaks first
    (`{"applicationType": "gecko", "marionetteProtocol": 3}`); a command is
    `[0, id, name, params]`, its answer `[1, id, error, result]`."""

    # The WebDriver element key, and the one Marionette itself answers with (Firefox 153).
    ELEMENT_KEYS = ("element-6066-11e4-a52f-4d6e76f8e2c4", "element-6066-11e4-a52e-4f735466cecf")

    def __init__(self, log):
        self.log = log
        self.reader = None
        self.writer = None
        self.next_id = 0
        self.hello = None

    async def connect(self, port, timeout, alive):
        deadline = time.time() + timeout
        while True:
            try:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
                self.hello = await self._read(10)
                break
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as e:
                if self.writer:
                    self.writer.close()
                    self.writer = None
                if not alive():
                    raise Failure("Firefox exited before Marionette answered") from None
                if time.time() > deadline:
                    raise Failure(f"Marionette did not answer on port {port} within {timeout} s ({e!r})") from None
                await asyncio.sleep(0.25)
        if self.hello.get("marionetteProtocol") != 3:
            self.log.append(f"marionette hello {self.hello}")

    async def _read(self, timeout):
        async def packet():
            length = await self.reader.readuntil(b":")
            return json.loads(await self.reader.readexactly(int(length[:-1])))

        return await asyncio.wait_for(packet(), timeout)

    async def command(self, name, params=None, timeout=30):
        self.next_id += 1
        msgid = self.next_id
        data = json.dumps([0, msgid, name, params or {}]).encode()
        self.writer.write(str(len(data)).encode() + b":" + data)
        await self.writer.drain()
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            try:
                if left <= 0:
                    raise asyncio.TimeoutError
                msg = await self._read(left)
            except asyncio.TimeoutError:
                raise Failure(f"Marionette: no answer to {name} within {timeout} s") from None
            if isinstance(msg, list) and len(msg) == 4 and msg[0] == 1 and msg[1] == msgid:
                break
        _, _, error, result = msg
        if error:
            raise MarionetteError(name, error)
        if isinstance(result, dict) and list(result) == ["value"]:
            return result["value"]
        return result

    async def find(self, css):
        found = await self.command("WebDriver:FindElement", {"using": "css selector", "value": css})
        for key in self.ELEMENT_KEYS:
            if isinstance(found, dict) and key in found:
                return found[key]
        raise Failure(f"WebDriver:FindElement {css!r}: unexpected answer {found!r}")

    async def text(self, element):
        return await self.command("WebDriver:GetElementText", {"id": element})

    async def send_keys(self, element, text):
        await self.command("WebDriver:ElementSendKeys", {"id": element, "text": text})

    async def click(self, element):
        await self.command("WebDriver:ElementClick", {"id": element})

    async def script(self, script, *args):
        return await self.command("WebDriver:ExecuteScript", {"script": script, "args": list(args)})

    async def async_script(self, script, *args, timeout=20):
        return await self.command(
            "WebDriver:ExecuteAsyncScript", {"script": script, "args": list(args)}, timeout=timeout + 5
        )

    def close(self):
        if self.writer:
            self.writer.close()


# ---- the advisers' web app, in Firefox, through Marionette ----------------------------------

QUIET_ZONES = [  # one every 3 to 5 hours of UTC offset: one of them is always in working hours
    "Pacific/Honolulu",
    "America/Los_Angeles",
    "America/Cayenne",
    "Europe/Paris",
    "Asia/Dubai",
    "Asia/Bangkok",
    "Asia/Tokyo",
    "Pacific/Noumea",
]


def quiet_hours(zone, margin_minutes=3):
    """21:00–08:00 local (server/src/notifications/quiet_hours.rs), with a margin before 21:00."""
    local = datetime.datetime.now(zoneinfo.ZoneInfo(zone)) + datetime.timedelta(minutes=margin_minutes)
    return local.hour >= 21 or local.hour < 8


def daytime_zone(avoid):
    def distance(zone):
        local = datetime.datetime.now(zoneinfo.ZoneInfo(zone))
        return abs(local.hour + local.minute / 60 - 14)

    return min((z for z in QUIET_ZONES if z != avoid), key=distance)


SIGN_IN_STATE = r"""
const alert = document.querySelector('.fr-alert--error, [role=alert]');
return {path: location.pathname, form: !!document.querySelector('form[action="/connexion"]'),
        alert: alert ? alert.textContent.trim() : null, title: document.title};
"""

PAGE_STATE = r"""
const status = document.getElementById('push-status');
return {url: location.href, subscribed: document.body ? (document.body.dataset.pushSubscribed || null) : null,
        status: status ? status.textContent.trim() : null, pushes: window.__pePushes || null};
"""

LISTEN_TO_SERVICE_WORKER = r"""
window.__pePushes = [];
navigator.serviceWorker.addEventListener('message', (e) => window.__pePushes.push(e.data));
navigator.serviceWorker.startMessages();
return true;
"""

REGISTRATION = r"""
const done = arguments[arguments.length - 1];
navigator.serviceWorker.ready
  .then(async (r) => {
    const s = await r.pushManager.getSubscription();
    done({scope: r.scope, script: r.active && r.active.scriptURL, endpoint: s && s.endpoint,
          controlled: !!navigator.serviceWorker.controller});
  })
  .catch((e) => done({error: String(e)}));
"""

NOTIFICATIONS = r"""
const done = arguments[arguments.length - 1];
navigator.serviceWorker.ready
  .then((r) => r.getNotifications())
  .then((ns) => done(ns.map((n) => ({title: n.title, body: n.body, data: n.data, tag: n.tag}))))
  .catch((e) => done({error: String(e)}));
"""

# Put in place before « Se déconnecter »: the page's console, its posts to /notifications/*, what
# PushSubscription.unsubscribe() answers and the submit events, kept in sessionStorage (the page
# navigates to the sign-in page right after, on the same origin and in the same tab).
RECORD_SIGN_OUT = r"""
sessionStorage.setItem('pe-test-record', '[]');
const keep = (entry) => {
  const all = JSON.parse(sessionStorage.getItem('pe-test-record') || '[]');
  all.push(Object.assign({t: Date.now() % 100000}, entry));
  sessionStorage.setItem('pe-test-record', JSON.stringify(all));
};
const text = (v) => {
  try {
    return v instanceof Error ? `${v.name}: ${v.message}` : typeof v === 'string' ? v : JSON.stringify(v);
  } catch (e) {
    return String(v);
  }
};
for (const level of ['log', 'info', 'warn', 'error']) {
  const original = console[level].bind(console);
  console[level] = (...args) => {
    keep({console: level, text: args.map(text).join(' ')});
    original(...args);
  };
}
window.addEventListener('error', (e) => keep({console: 'uncaught', text: `${e.message} (${e.filename}:${e.lineno})`}));
window.addEventListener('unhandledrejection', (e) => keep({console: 'unhandledrejection', text: text(e.reason)}));
const originalFetch = window.fetch.bind(window);
window.fetch = (input, init) => {
  const url = String((input && input.url) || input);
  const promise = originalFetch(input, init);
  if (url.includes('/notifications/')) {
    const fields = new URLSearchParams(init && init.body ? String(init.body) : '');
    const sent = {fetch: url, fields: Array.from(fields.keys()), endpoint: fields.get('endpoint')};
    promise.then((r) => keep(Object.assign(sent, {status: r.status})), (e) => keep(Object.assign(sent, {error: text(e)})));
  }
  return promise;
};
const unsubscribe = PushSubscription.prototype.unsubscribe;
PushSubscription.prototype.unsubscribe = function () {
  keep({unsubscribe: 'called', endpoint: this.endpoint});
  return unsubscribe.call(this).then(
    (ok) => (keep({unsubscribe: ok}), ok),
    (e) => {
      keep({unsubscribe: 'rejected', error: text(e)});
      throw e;
    },
  );
};
for (const form of document.querySelectorAll('form[action="/deconnexion"]')) {
  form.addEventListener('submit', (e) => keep({submit: e.defaultPrevented ? 'held by the page' : 'not held'}));
}
return document.querySelectorAll('form[action="/deconnexion"]').length;
"""

READ_RECORD = "return JSON.parse(sessionStorage.getItem('pe-test-record') || '[]');"

SUBSCRIPTION_NOW = r"""
const done = arguments[arguments.length - 1];
navigator.serviceWorker.getRegistration('/')
  .then(async (r) => {
    if (!r) return done({registration: null});
    const s = await r.pushManager.getSubscription();
    done({registration: r.scope, subscription: s === null ? null : {endpoint: s.endpoint}});
  })
  .catch((e) => done({error: String(e)}));
"""


def summary(record):
    """RECORD_SIGN_OUT's entries, short."""
    out = []
    for r in record or []:
        if "fetch" in r:
            path = "/" + r["fetch"].split("://", 1)[-1].split("/", 1)[-1]
            out.append(f"POST {path} {r.get('status', r.get('error'))}")
        elif "unsubscribe" in r and r["unsubscribe"] != "called":
            out.append(f"unsubscribe() {json.dumps(r['unsubscribe'])}" + (f" {r['error']}" if r.get("error") else ""))
        elif "submit" in r:
            out.append(f"submit {r['submit']}")
        elif "console" in r:
            out.append(f"console.{r['console']} {r.get('text')!r}")
    return ", ".join(out) or "nothing recorded"


class WebAppScenario(Common):
    """The web app's own page subscribes; a young person's edit is shown by its service worker."""

    name = "web-app"

    def __init__(self, server_bin, work):
        super().__init__(server_bin, work)
        self.mn = None
        self.steps = []
        self.sign_out_record = None  # what RECORD_SIGN_OUT kept

    def server_env(self):
        env = super().server_env()
        if "RUST_LOG" not in os.environ:
            # One line per request (tower_http's TraceLayer): the sign-out's posts are in server.log.
            env["RUST_LOG"] = "info,sqlx=warn,tower_http=warn,tower_http::trace=debug"
        return env

    def server_lines(self, *needles, n=12):
        """The server.log lines that mention one of the needles (the last n)."""
        path = os.path.join(self.work, "server.log")
        if not os.path.exists(path):
            return []
        lines = [l.rstrip() for l in open(path, errors="replace") if any(x in l for x in needles)]
        return lines[-n:]

    def db_rows(self, sql, *params):
        db = sqlite3.connect(os.path.join(self.work, "data", "pass-emploi.db"), timeout=10)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def step(self, text):
        self.steps.append(text)
        self.log.append(f"step: {text}")

    async def explain(self):
        lines = [f"last step: {self.steps[-1] if self.steps else '(none)'}"]
        if self.mn and self.mn.writer and self.firefox and self.firefox.poll() is None:
            try:
                state = await asyncio.wait_for(self.mn.script(PAGE_STATE), 5)
                lines.append(f"page: {state.get('url')}")
                lines.append(f"#push-status: {state.get('status')!r}; body[data-push-subscribed]: {state.get('subscribed')!r}")
                if state.get("pushes") is not None:
                    lines.append(f"messages from the service worker: {json.dumps(state['pushes'], ensure_ascii=False)[:600]}")
            except (Failure, asyncio.TimeoutError, OSError, ValueError) as e:
                lines.append(f"(could not read the page's state: {e!r})")
        lines.append(f"fake autopush: {len(self.channels)} channel(s), {len(self.push_requests)} push request(s), "
                     f"unregistered: {self.unregistered}")
        if self.sign_out_record is not None:
            lines.append(f"the page at sign-out (console, posts, unsubscribe): {json.dumps(self.sign_out_record, ensure_ascii=False)[:1500]}")
        for line in self.server_lines("/deconnexion", "/notifications/desabonnement", "/notifications/abonnement"):
            lines.append(f"server.log: {line[:400]}")
        return lines

    async def page_state(self):
        return await self.mn.script(PAGE_STATE)

    async def sign_in(self, email):
        mn = self.mn
        self.step("the sign-in page")
        await mn.command("WebDriver:Navigate", {"url": self.server_url + "/"})
        labels = dict(
            await mn.script(
                "return Array.from(document.querySelectorAll('label[for]'), "
                "(l) => [l.htmlFor, l.textContent.replace(/\\s+/g, ' ').trim()]);"
            )
        )
        if not labels.get("email", "").startswith("Adresse électronique") or labels.get("password") != "Mot de passe":
            raise Failure(f"the sign-in form's labels are not « Adresse électronique » / « Mot de passe »: {labels}")
        await mn.send_keys(await mn.find("#email"), email)
        await mn.send_keys(await mn.find("#password"), self.password)
        button = await mn.find("form[action='/connexion'] button[type='submit']")
        if (await mn.text(button)).strip() != "Se connecter":
            raise Failure(f"the sign-in button reads {await mn.text(button)!r}, not « Se connecter »")
        self.step("« Se connecter » clicked")
        await mn.click(button)
        deadline = time.time() + 15
        while True:
            state = await mn.script(SIGN_IN_STATE)
            if not state["form"] and state["path"] != "/connexion":
                break
            if state["alert"]:
                raise Failure(f"sign-in refused: {state['alert']!r}")
            if time.time() > deadline:
                raise Failure(f"still on the sign-in page 15 s after « Se connecter »: {state}")
            await asyncio.sleep(0.25)
        self.step(f"signed in (landed on {state['path']}, « {state['title']} »)")

    async def enable_push(self):
        mn = self.mn
        self.step("/notifications")
        await mn.command("WebDriver:Navigate", {"url": self.server_url + "/notifications"})
        path = await mn.script("return location.pathname;")
        if path != "/notifications":
            raise Failure(f"/notifications redirected to {path} (is the session cookie kept?)")
        try:
            button = await mn.find("#enable-push")
        except MarionetteError as e:
            raise Failure(f"no #enable-push button on /notifications (no VAPID key given to the page?): {e}") from None
        label = (await mn.text(button)).strip()
        if label != "Activer les notifications du navigateur":
            raise Failure(f"#enable-push reads {label!r} (hidden? the page's script did not run?)")
        vapid_key = await mn.command("WebDriver:GetElementAttribute", {"id": button, "name": "data-vapid-key"})
        await mn.script(LISTEN_TO_SERVICE_WORKER)
        # Like an adviser who reads the page first: Firefox's push service has connected (it does
        # at start-up), so the app's single subscribe() does not race a cold push connection.
        waited = time.time()
        while self.hellos == 0 and time.time() - waited < 10:
            await asyncio.sleep(0.1)
        if self.hellos == 0:
            self.log.append("Firefox's push service has not connected to the fake autopush yet: clicking anyway")
        started = time.time()
        self.step("« Activer les notifications du navigateur » clicked")
        await mn.click(button)
        deadline = started + 30
        while True:
            state = await self.page_state()
            if state["subscribed"] == "true":
                break
            # app.js says « Activation en cours… » while it subscribes, then writes its final status
            # and the attribute together: any other status without the attribute is a failure.
            if state["status"] and state["status"] != SUBSCRIBING:
                raise Failure(f"the page did not subscribe: #push-status {state['status']!r}")
            if time.time() > deadline:
                raise Failure(
                    f"no data-push-subscribed=\"true\" on <body> 30 s after the click; #push-status: {state['status']!r}"
                )
            await asyncio.sleep(0.25)
        self.step(f"subscribed ({time.time() - started:.1f} s after the click): {state['status']!r}")
        reg = await mn.async_script(REGISTRATION, timeout=10)
        problems = []
        if reg.get("error") or reg.get("scope") != self.server_url + "/" or reg.get("script") != self.server_url + "/sw.js":
            problems.append(f"service worker registration {reg}")
        if not str(reg.get("endpoint")).startswith(f"http://127.0.0.1:{self.push_port}/wpush/"):
            problems.append(f"subscription endpoint {reg.get('endpoint')!r} is not the fake autopush's")
        channel = str(reg.get("endpoint")).rsplit("/", 1)[-1]
        if self.channel_keys.get(channel, "").rstrip("=") != vapid_key.rstrip("="):
            problems.append(f"Firefox subscribed with {self.channel_keys.get(channel)!r}, the page's data-vapid-key is {vapid_key!r}")
        if problems:
            raise Failure("; ".join(problems))
        return state, channel

    async def keep_out_of_quiet_hours(self, young_token):
        """A push in the adviser's quiet hours waits for 08:00: outside working hours the adviser
        is moved (in the database) to a zone where it is daytime, and the young person's cached
        notification context is dropped (a change of preferences does that)."""
        _, adviser = await self.login(WEB_ADVISER)
        zone = adviser.get("timezone") or "Europe/Paris"
        forced = bool(os.environ.get("BROWSER_PUSH_FORCE_DAYTIME_ZONE"))
        if not forced and not quiet_hours(zone):
            return None
        day = daytime_zone(avoid=zone)
        db = sqlite3.connect(os.path.join(self.work, "data", "pass-emploi.db"), timeout=10)
        try:
            with db:
                changed = db.execute("UPDATE users SET timezone = ? WHERE email = ?", (day, WEB_ADVISER)).rowcount
        finally:
            db.close()
        if changed != 1:
            raise Failure(f"could not move {WEB_ADVISER} to {day} ({changed} rows)")
        status, body = await asyncio.to_thread(
            self.api, "PUT", "/api/v1/me/notification-preferences", b"{}", self.bearer(young_token)
        )
        if status != 200:
            raise Failure(f"PUT /api/v1/me/notification-preferences: {status} {body!r}")
        _, adviser = await self.login(WEB_ADVISER)
        if adviser.get("timezone") != day:
            raise Failure(f"the adviser's zone is {adviser.get('timezone')!r} after the update, not {day!r}")
        why = "in quiet hours (21:00–08:00)" if quiet_hours(zone) else "not in quiet hours, but BROWSER_PUSH_FORCE_DAYTIME_ZONE is set"
        say(f"[{self.name}] {zone} is {why}: the adviser is moved to {day} for this run")
        return day

    async def complete_an_action(self, again=False):
        """The young person's first open action is done (`again`: the zone was already checked)."""
        self.step(f"{WEB_YOUNG_PERSON} completes {'another' if again else 'an'} action through the REST API")
        token, me = await self.login(WEB_YOUNG_PERSON)
        if me.get("role") != "young_person":
            raise Failure(f"{WEB_YOUNG_PERSON} is a {me.get('role')!r}, not a young person")
        if not again:
            await self.keep_out_of_quiet_hours(token)
        yp = me["id"]
        status, body = await asyncio.to_thread(self.api, "GET", f"/api/v1/young-people/{yp}/plan", None, self.bearer(token))
        if status != 200:
            raise Failure(f"GET /api/v1/young-people/{yp}/plan: {status} {body!r}")
        actions = [a for a in json.loads(body)["actions"] if a.get("status") in ("not_started", "in_progress")]
        if not actions:
            raise Failure(f"{WEB_YOUNG_PERSON} has no open action in the demo plan")
        action = actions[0]
        status, body = await asyncio.to_thread(
            self.api,
            "PATCH",
            f"/api/v1/young-people/{yp}/actions/{action['id']}",
            json.dumps({"status": "done"}).encode(),
            self.bearer(token),
        )
        if status != 200 or json.loads(body).get("status") != "done":
            raise Failure(f"PATCH the action {action['id']} to done: {status} {body[:500]!r}")
        self.step(f"{me['first_name']} completed « {action['title']} » ({action['id']})")
        return me, action

    async def sign_out(self, endpoint):
        """« Se déconnecter » in the header: the page lands on the sign-in page, and neither the
        browser nor the server keeps this browser's push subscription."""
        mn = self.mn
        stored = self.db_rows("SELECT COUNT(*) FROM push_subscriptions WHERE endpoint = ?", endpoint)[0][0]
        if stored != 1:
            raise Failure(f"before signing out, the server stores {stored} subscription(s) for {endpoint}, not 1")
        # The DSFR's script copies the header's tools into the (mobile) menu: the header's own form
        # is the one in .fr-header__tools.
        forms = await mn.script(RECORD_SIGN_OUT)
        if not forms:
            raise Failure(f"no form action=\"/deconnexion\" on {await mn.script('return location.pathname;')}")
        button = await mn.find('.fr-header__tools form[action="/deconnexion"] button[type="submit"]')
        label = (await mn.text(button)).strip()
        if label != "Se déconnecter":
            raise Failure(f"the sign-out button reads {label!r}, not « Se déconnecter »")
        started = time.time()
        self.step("« Se déconnecter » clicked")
        await mn.click(button)
        deadline = started + 15
        state = None
        while True:
            try:
                state = await mn.script(SIGN_IN_STATE)
                signed_out = await mn.script("return !document.querySelector('form[action=\"/deconnexion\"]');")
            except MarionetteError as e:  # the page is being replaced
                self.log.append(f"while signing out: {e}")
                state, signed_out = None, False
            if state and signed_out and state["form"] and state["path"] in ("/", "/connexion"):
                break
            if time.time() > deadline:
                self.sign_out_record = await self.read_record()
                raise Failure(f"not on the sign-in page 15 s after « Se déconnecter »: {state}")
            await asyncio.sleep(0.2)
        landed = time.time() - started
        self.sign_out_record = record = await self.read_record()
        self.step(f"signed out: on {state['path']} « {state['title']} » {landed:.1f} s after the click")
        problems = []
        now = await mn.async_script(SUBSCRIPTION_NOW, timeout=10)
        if now.get("error") or now.get("registration") != self.server_url + "/":
            problems.append(f"the service worker registration after sign-out: {now}")
        elif now.get("subscription") is not None:
            problems.append(f"the registration still has a push subscription after sign-out: {now['subscription']}")
        posts = [r for r in record if str(r.get("fetch", "")).endswith("/notifications/desabonnement")]
        if not posts:
            problems.append("the page posted nothing to /notifications/desabonnement")
        elif posts[0].get("status") != 204 or posts[0].get("endpoint") != endpoint:
            problems.append(f"the post to /notifications/desabonnement: {posts[0]} (expected 204 for {endpoint})")
        stored = self.db_rows("SELECT COUNT(*) FROM push_subscriptions WHERE endpoint = ?", endpoint)[0][0]
        if stored:
            problems.append(f"after sign-out the server still stores {stored} subscription(s) for {endpoint}")
        channel = endpoint.rsplit("/", 1)[-1]
        if problems:
            raise Failure("; ".join(problems))
        return landed, channel in self.unregistered

    async def read_record(self):
        try:
            return await self.mn.script(READ_RECORD)
        except (Failure, ValueError) as e:
            return [{"unreadable": repr(e)}]

    async def no_push_after_sign_out(self, channel, first_url, first_action):
        """A second completed action: the signed-out browser gets no push, the server posts none."""
        before = len(self.push_requests)
        me, action = await self.complete_an_action(again=True)
        if action["id"] == first_action["id"]:
            raise Failure(f"the second open action is the first one again ({action['id']})")
        edited = time.time()
        self.step(f"waiting {SILENCE_SECONDS} s: no push request for the signed-out browser")
        while time.time() - edited < SILENCE_SECONDS:
            late = [r for r in self.push_requests[before:] if r.get("channel") == channel]
            if late:
                raise Failure(
                    f"the server posted a push for the signed-out browser {late[0]['at'] - edited:+.1f} s after the "
                    f"second edit returned ({late[0]['headers'].get('urgency')}, {late[0]['length']} bytes)"
                )
            await asyncio.sleep(0.25)
        problems = []
        shown = await self.mn.async_script(NOTIFICATIONS, timeout=10)
        if isinstance(shown, dict):
            problems.append(f"getNotifications() failed: {shown.get('error')}")
        elif [n.get("data", {}).get("url") for n in shown] != [first_url]:
            problems.append(f"getNotifications() after sign-out: {json.dumps(shown, ensure_ascii=False)}, "
                            f"expected only the first one ({first_url})")
        adviser_id = self.db_rows("SELECT id FROM users WHERE email = ?", WEB_ADVISER)[0][0]
        rows = self.db_rows(
            "SELECT channel, status, last_error FROM notifications WHERE recipient_id = ? AND payload LIKE ?",
            adviser_id,
            f"%{action['id']}%",
        )
        web = [r for r in rows if r[0] == "web"]
        if not web:
            problems.append(f"the server queued no web notification for the second action (rows: {rows}): "
                            "the silence proves nothing")
        if problems:
            raise Failure("; ".join(problems))
        return action, web[0]

    async def run(self):
        t0 = time.time()
        await self.start_server()
        if WEB_ADVISER not in self.server_out:
            raise Failure(f"the demo has no adviser {WEB_ADVISER}")
        if not self.young_people or self.young_people[0][0] != WEB_YOUNG_PERSON:
            raise Failure(f"the demo's first young person is not {WEB_YOUNG_PERSON}: {self.young_people[:1]}")
        await self.start_fakes()
        say(f"[{self.name}] server at {self.server_url}; fake autopush ws://127.0.0.1:{self.ws_port}, "
            f"push http://127.0.0.1:{self.push_port} ({time.time() - t0:.1f} s)")

        port = free_port()
        self.start_firefox("about:blank", {"marionette.port": port}, ["--marionette"])
        self.mn = Marionette(self.log)
        self.step("waiting for Marionette")
        await self.mn.connect(port, 30, lambda: self.firefox.poll() is None)
        session = await self.mn.command("WebDriver:NewSession", {"pageLoadStrategy": "normal"})
        caps = session.get("capabilities", {})
        await self.mn.command("WebDriver:SetTimeouts", {"script": 30000, "pageLoad": 20000, "implicit": 0})
        say(f"[{self.name}] Marionette on :{port}, {caps.get('browserName')} {caps.get('browserVersion')} "
            f"({time.time() - t0:.1f} s)")

        await self.sign_in(WEB_ADVISER)
        say(f"[{self.name}] {self.steps[-1]} ({time.time() - t0:.1f} s)")
        state, channel = await self.enable_push()
        say(f"[{self.name}] {self.steps[-1]} ({time.time() - t0:.1f} s)")
        before = len(self.push_requests)

        me, action = await self.complete_an_action()
        say(f"[{self.name}] {self.steps[-1]} ({time.time() - t0:.1f} s)")
        expected_url = f"/beneficiaires/{me['id']}/actions/{action['id']}"

        self.step("waiting for the service worker to show the notification")
        edited = time.time()
        deadline = edited + 30
        while True:
            shown = await self.mn.async_script(NOTIFICATIONS, timeout=10)
            if isinstance(shown, dict):
                raise Failure(f"getNotifications() failed: {shown.get('error')}")
            ours = [n for n in shown if (n.get("data") or {}).get("url") == expected_url]
            if ours:
                break
            if time.time() > deadline:
                raise Failure(
                    f"no notification shown for {expected_url} within 30 s of the edit "
                    f"(shown: {json.dumps(shown, ensure_ascii=False)}; "
                    f"push requests since the subscription: {len(self.push_requests) - before}"
                    + ("; the server posted nothing: quiet hours? the delivery worker? see server.log" if len(self.push_requests) == before else "")
                    + ")"
                )
            await asyncio.sleep(0.5)
        shown_after = time.time() - edited
        self.step(f"shown {shown_after:.1f} s after the edit")

        problems = []
        notification = ours[0]
        expected_body = ACTION_DONE_BODY.format(first=me["first_name"])
        if notification.get("title") != ACTION_DONE_TITLE:
            problems.append(f"title {notification.get('title')!r}, expected {ACTION_DONE_TITLE!r}")
        if notification.get("body") != expected_body:
            problems.append(f"body {notification.get('body')!r}, expected {expected_body!r}")
        if len(ours) != 1:
            problems.append(f"{len(ours)} notifications for one edit: {ours}")
        for field in ("title", "description"):
            text = (action.get(field) or "").strip()
            if text and (text in (notification.get("title") or "") or text in (notification.get("body") or "")):
                problems.append(f"the notification shows the action's {field} {text!r}")
        # What the service worker received (it hands every push to the open pages).
        pushes = [p.get("push") for p in (await self.page_state()).get("pushes") or [] if isinstance(p, dict)]
        pushes = [p for p in pushes if isinstance(p, dict) and (p.get("data") or {}).get("action_id") == action["id"]]
        if not pushes:
            problems.append("the page got no message from the service worker for this push")
        else:
            push = pushes[0]
            if push.get("kind") != "action_completed":
                problems.append(f"push kind {push.get('kind')!r}")
            if set(push.get("data") or {}) - {"young_person_id", "action_id"}:
                problems.append(f"push data carries more than ids: {push.get('data')}")
            raw = json.dumps(push, ensure_ascii=False)
            for field in ("title", "description"):
                text = (action.get(field) or "").strip()
                if text and text in raw:
                    problems.append(f"the push payload carries the action's {field} {text!r}")
        req = self.check_push_request(problems, urgency="low")
        ack = await self.ack_of(req.get("version"), 10)
        if not ack:
            problems.append("Firefox did not ack the push to the fake autopush within 10 s")
        elif ack.get("code") != 100 or ack.get("channelID") != channel:
            problems.append(f"ack {ack} (code 100 = delivered, 101 = decryption failed) on channel {channel}")
        if len(self.push_requests) - before != 1:
            problems.append(f"{len(self.push_requests) - before} push requests for one edit")
        if problems:
            raise Failure("; ".join(problems))
        say(f"[{self.name}] the service worker showed « {notification['title']} — {notification['body']} » "
            f"→ {notification['data']['url']}, {shown_after:.1f} s after the edit "
            f"(Urgency {req['headers'].get('urgency')}, TTL {req['headers'].get('ttl')}, ack {ack.get('code')}; "
            f"{time.time() - t0:.1f} s)")

        endpoint = f"http://127.0.0.1:{self.push_port}/wpush/{channel}"
        landed, unregistered = await self.sign_out(endpoint)
        say(f"[{self.name}] {self.steps[-1]}; no subscription left in the browser nor on the server "
            f"(Firefox {'sent' if unregistered else 'has not sent yet'} « unregister » to the fake autopush; "
            f"the page: {summary(self.sign_out_record)}) ({time.time() - t0:.1f} s)")
        second, web = await self.no_push_after_sign_out(channel, expected_url, action)
        say(f"[{self.name}] « {second['title']} » completed after sign-out: no push request in {SILENCE_SECONDS} s, "
            f"getNotifications() still only the first one (the server's web row: {web[1]}"
            + (f", {web[2]}" if web[2] else "") + f"; {time.time() - t0:.1f} s in all)")

    def stop(self):
        if self.mn:
            self.mn.close()
        super().stop()


SCENARIOS = {"test-page": (TestPageScenario, 45), "web-app": (WebAppScenario, 75)}


def tail(path, n=30):
    if not os.path.exists(path):
        return None
    return "".join(open(path, errors="replace").readlines()[-n:])


async def run_one(cls, server_bin, timeout):
    work = tempfile.mkdtemp(prefix=f"browser-push.{cls.name}.")
    scenario = cls(server_bin, work)
    started = time.time()
    ok = False
    try:
        await asyncio.wait_for(scenario.run(), timeout)
        ok = True
    except Exception as e:  # noqa: BLE001 - report and fail
        if isinstance(e, asyncio.TimeoutError):
            e = Failure(f"the scenario did not finish within {timeout:.0f} s")
        print(f"browser-push: [{cls.name}] FAILED / ÉCHEC: {e}", file=sys.stderr)
        if not isinstance(e, Failure):
            import traceback

            traceback.print_exception(e, file=sys.stderr)
        if hasattr(scenario, "explain"):
            try:
                for line in await asyncio.wait_for(scenario.explain(), 10):
                    print("  " + line, file=sys.stderr)
            except Exception as x:  # noqa: BLE001
                print(f"  (no explanation: {x!r})", file=sys.stderr)
        for line in scenario.log[-40:]:
            print("  " + line, file=sys.stderr)
        for name in ("server.log", "firefox.log"):
            text = tail(os.path.join(work, name))
            if text is not None:
                print(f"--- {name} (last 30 lines) ---", file=sys.stderr)
                print(text, file=sys.stderr)
    finally:
        await asyncio.to_thread(scenario.stop)
        if os.environ.get("KEEP_DATA"):
            say(f"[{cls.name}] kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    say(f"[{cls.name}] {'PASSED' if ok else 'FAILED'} in {time.time() - started:.1f} s")
    return ok


async def main(server_bin, names):
    budget = float(os.environ.get("BROWSER_PUSH_BUDGET", "85"))
    deadline = time.time() + budget
    results = {}
    for name in names:
        cls, cap = SCENARIOS[name]
        left = deadline - time.time()
        if left < 15:
            print(f"browser-push: [{name}] not run: only {left:.0f} s left of the {budget:.0f} s budget", file=sys.stderr)
            results[name] = False
            continue
        results[name] = await run_one(cls, server_bin, min(cap, left))
    failed = [n for n, ok in results.items() if not ok]
    print(f"browser-push: {'PASSED' if not failed else 'FAILED'}"
          + (f" ({', '.join(failed)})" if failed else f" ({', '.join(results)})"))
    return 0 if not failed else 1


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or any(a not in SCENARIOS for a in args[1:]):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(args[0], args[1:] or list(SCENARIOS))))
