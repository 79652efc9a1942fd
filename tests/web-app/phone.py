#!/usr/bin/env python3
"""A young person's phone for the web-app journeys: the offline client through its generated Python
bindings (mobile-bindings), driven from the command line by web.test.mjs.

  phone.py --server URL --email E --password P --data-dir DIR list
  phone.py --server URL --email E --password P --data-dir DIR complete "Action title"
  phone.py --server URL --email E --password P --data-dir DIR messages
  phone.py --server URL --email E --password P --data-dir DIR send-message "Text"

Each call signs in (ServerApi.login), opens the OfflineClient in DIR, syncs, does its command, syncs
again when it edited, and prints one JSON object on stdout: {"actions": [{id, title, status}, ...]}
(the plan after the last sync); the conversation's commands add "messages" (the 50 newest, newest
first: {id, text, author_role, edited, deleted}), "unread" and, for send-message, "sent" (the new
message's id). Exit status 1 with a message on stderr on any error (no such action, sign-in
refused, sync failure, a message refused). PYTHONPATH must hold target/bindings/python (the run
script sets it).
"""

import argparse
import json
import sys
import threading


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--data-dir", required=True)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="sync and list the actions")
    complete = commands.add_parser("complete", help="complete the action with this exact title, then sync")
    complete.add_argument("title")
    commands.add_parser("messages", help="sync and list the conversation's newest messages")
    send = commands.add_parser("send-message", help="send a message to the advisers, then sync")
    send.add_argument("text")
    args = parser.parse_args()

    try:
        import pass_emploi_sync as pe
    except ImportError as e:
        sys.exit(f"phone.py: the Python bindings are not importable ({e}); build them with "
                 "mobile-bindings/generate --languages python and put target/bindings/python on PYTHONPATH")

    class Tokens(pe.TokenSource):
        def __init__(self, api, session):
            self.api, self.session, self.lock = api, session, threading.Lock()

        def access_token(self):
            with self.lock:
                return self.session.access_token if self.session else None

        def refresh_access_token(self):
            with self.lock:
                if not self.session:
                    return None
                try:
                    self.session = self.api.refresh(self.session.refresh_token)
                except pe.MobileError:
                    self.session = None
                    return None
                return self.session.access_token

    api = pe.ServerApi(args.server)
    session = api.login(args.email, args.password)
    me = api.me(session.access_token)
    client = pe.OfflineClient.open(pe.client_config(args.server, args.data_dir, me), Tokens(api, session))
    client.sync_now()

    if args.command == "complete":
        found = [a for a in client.plan().actions if a.title == args.title]
        if len(found) != 1:
            titles = [a.title for a in client.plan().actions]
            sys.exit(f"phone.py: {len(found)} actions titled {args.title!r} on the phone (it has {titles})")
        client.complete_action(found[0].id)
        report = client.sync_now()
        if report.pending_changes != 0:
            sys.exit(f"phone.py: {report.pending_changes} changes still pending after the sync")

    sent = None
    if args.command == "send-message":
        sent = client.send_message(args.text, None)
        report = client.sync_now()
        if report.pending_changes != 0:
            sys.exit(f"phone.py: {report.pending_changes} changes still pending after the sync")

    actions = [{"id": a.id, "title": a.title, "status": a.status.name.lower()} for a in client.plan().actions]
    out = {"actions": actions, "notices": len(client.notices())}
    if args.command in ("messages", "send-message"):
        out["messages"] = [
            {"id": m.id, "text": m.text, "author_role": m.author.role.name.lower(), "edited": m.edited, "deleted": m.deleted}
            for m in client.messages(None, 50)
        ]
        out["unread"] = client.unread_messages()
        out["sent"] = sent
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # the bindings' MobileError and the like: one line, exit status 1
        sys.exit(f"phone.py: {type(e).__name__}: {e}")
