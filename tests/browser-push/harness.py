#!/usr/bin/env python3
"""A real browser receives a Web Push from the server, fully offline (issue 6).

Headless Firefox ESR gets a fresh profile whose `dom.push.serverURL` points at a loopback fake of
Mozilla's autopush WebSocket protocol. A page (served here, with /api/ proxied to the real server
so that it is one origin) registers a service worker, subscribes with the server's VAPID public
key and posts the subscription to the server. Then `pass-emploi-server web-push test` makes the
server push through its WebPushChannel: the request (aes128gcm, VAPID) reaches the fake push
service's HTTP side, which relays it over the WebSocket; Firefox decrypts it, the service worker
receives it and the page reports the text back here.

Usage: harness.py SERVER_BIN   (run by tests/browser-push/run)
"""

import asyncio
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import websockets
from websockets.asyncio.server import serve as ws_serve

HERE = os.path.dirname(os.path.abspath(__file__))
TOTAL_TIMEOUT = 100  # seconds for the whole scenario
EXPECTED_BODY = "Notification de test : les notifications de ce navigateur fonctionnent."


def say(*args):
    print("browser-push:", *args, flush=True)


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Scenario:
    def __init__(self, server_bin, work):
        self.server_bin = server_bin
        self.work = work
        self.server = None
        self.server_url = None
        self.firefox = None
        self.token = None
        self.adviser_email = None
        # The fake push service.
        self.channels = {}  # channelID -> websocket
        self.channel_keys = {}  # channelID -> applicationServerKey (b64url, from "register")
        self.acks = asyncio.Queue()
        self.push_requests = []
        # What the page and the service worker report.
        self.reports = asyncio.Queue()
        self.log = []

    # ---- the real server -----------------------------------------------------------------

    def server_env(self):
        env = dict(os.environ)
        env.update(
            {
                "RUST_LOG": env.get("RUST_LOG", "info,sqlx=warn,tower_http=warn"),
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
                for line in text.splitlines():
                    parts = line.split()
                    if len(parts) >= 2 and parts[0] == "adviser" and "@" in parts[1]:
                        self.adviser_email = parts[1]
                        break
                break
            if self.server.poll() is not None:
                raise RuntimeError("the server exited early")
            await asyncio.sleep(0.2)
        if not self.server_url or not self.adviser_email:
            raise RuntimeError("the server did not start (or printed no adviser login)")
        password = re.search(r"mot de passe commun : (\S+)", open(os.path.join(self.work, "server.out")).read())
        status, body = await asyncio.to_thread(
            self.api,
            "POST",
            "/api/v1/auth/login",
            json.dumps({"email": self.adviser_email, "password": password.group(1)}).encode(),
        )
        if status != 200:
            raise RuntimeError(f"login: {status} {body!r}")
        self.token = json.loads(body)["access_token"]
        say(f"server at {self.server_url}, adviser {self.adviser_email}")

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

    # ---- the fake autopush: WebSocket side ----------------------------------------------

    async def autopush_ws(self, ws):
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
        request = {"headers": headers, "length": len(body)}
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

    # ---- Firefox ----------------------------------------------------------------------------

    def start_firefox(self, url):
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
        with open(os.path.join(profile, "user.js"), "w") as f:
            for k, v in prefs.items():
                f.write(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n")
        firefox = shutil.which("firefox-esr") or shutil.which("firefox")
        env = dict(os.environ, MOZ_HEADLESS="1", HOME=self.work)
        self.firefox = subprocess.Popen(
            [firefox, "--headless", "--no-remote", "--profile", profile, url],
            env=env,
            stdout=open(os.path.join(self.work, "firefox.log"), "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    # ---- the scenario -----------------------------------------------------------------------

    async def wait_report(self, key, timeout):
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError(f"no {key!r} report within {timeout} s")
            report = await asyncio.wait_for(self.reports.get(), left)
            self.log.append(f"report {json.dumps(report)[:300]}")
            if "error" in report:
                raise RuntimeError(f"the page failed: {report['error']}")
            if key in report:
                return report

    async def run(self):
        await self.start_server()
        ws_server = await ws_serve(self.autopush_ws, "127.0.0.1", 0, subprotocols=["push-notification"])
        self.ws_port = ws_server.sockets[0].getsockname()[1]
        push_server = await asyncio.start_server(self.push_http, "127.0.0.1", 0)
        self.push_port = push_server.sockets[0].getsockname()[1]
        page_server = await asyncio.start_server(self.page_http, "127.0.0.1", 0)
        page_port = page_server.sockets[0].getsockname()[1]
        say(f"fake autopush ws://127.0.0.1:{self.ws_port}, push http://127.0.0.1:{self.push_port}, page :{page_port}")

        started = time.time()
        self.start_firefox(f"http://127.0.0.1:{page_port}/?token={self.token}")
        sub = await self.wait_report("subscribed", 60)
        if sub["subscribed"] != 201:
            raise RuntimeError(f"the server refused the subscription: {sub}")
        if not sub["endpoint"].startswith(f"http://127.0.0.1:{self.push_port}/wpush/"):
            raise RuntimeError(f"unexpected endpoint {sub['endpoint']}")
        say(f"subscribed in {time.time() - started:.1f} s (attempts: {sub.get('attempts')})")

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
        out, err = await asyncio.wait_for(test.communicate(), 30)
        say(f"web-push test: {out.decode().strip()}")
        if test.returncode != 0:
            raise RuntimeError(f"web-push test failed: {err.decode()[-2000:]}")

        got = await self.wait_report("received", 30)
        message = got["received"]
        ack = await asyncio.wait_for(self.acks.get(), 10)
        problems = []
        if message.get("body") != EXPECTED_BODY:
            problems.append(f"body {message.get('body')!r}")
        if message.get("title") != "Pass emploi" or message.get("kind") != "test":
            problems.append(f"title/kind {message!r}")
        if ack.get("code") != 100:
            problems.append(f"ack code {ack.get('code')} (100 = delivered, 101 = decryption failed)")
        req = self.push_requests[-1] if self.push_requests else {}
        if req.get("problems"):
            problems.append(f"push request {req['problems']}")
        if problems:
            raise RuntimeError("; ".join(problems))
        say(f"the page received {message['body']!r} (Urgency {req['headers'].get('urgency')}, "
            f"TTL {req['headers'].get('ttl')}, Topic {req['headers'].get('topic')}), "
            f"{time.time() - started:.1f} s after Firefox started")
        ws_server.close()
        push_server.close()
        page_server.close()

    def stop(self):
        if self.firefox and self.firefox.poll() is None:
            try:
                os.killpg(self.firefox.pid, signal.SIGTERM)
                self.firefox.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.firefox.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.server and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(10)
            except subprocess.TimeoutExpired:
                self.server.kill()


async def main(server_bin):
    work = tempfile.mkdtemp(prefix="browser-push.")
    scenario = Scenario(server_bin, work)
    ok = False
    try:
        await asyncio.wait_for(scenario.run(), TOTAL_TIMEOUT)
        ok = True
    except Exception as e:  # noqa: BLE001 - report and fail
        print(f"browser-push: FAILED: {e!r}", file=sys.stderr)
        for line in scenario.log[-40:]:
            print("  " + line, file=sys.stderr)
        for name in ("server.log", "firefox.log"):
            path = os.path.join(work, name)
            if os.path.exists(path):
                print(f"--- {name} (last 30 lines) ---", file=sys.stderr)
                print("".join(open(path, errors="replace").readlines()[-30:]), file=sys.stderr)
    finally:
        scenario.stop()
        if os.environ.get("KEEP_DATA"):
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"browser-push: {'PASSED' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(sys.argv[1])))
