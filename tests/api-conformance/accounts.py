#!/usr/bin/env python3
"""Signs in the demo accounts of a fresh `serve --demo` and prepares what the conformance run needs.

Reads SERVER_URL, PASSWORD and ADVISERS (the demo advisers' emails, space separated) from the
environment; prints shell assignments (`NAME=value`, one a line) for tests/api-conformance/run:
an adviser's and a young person's access tokens for the schemathesis runs, a third token that only
the logout run spends, the young person's id, and one action, appointment and task of their plan,
a second action for DELETE to remove, a device token and a notification of the young person, so
that the operations reach real entities instead of answering 404 to random ids; and, for the runs
whose first case removes its target (issue 14), a second young person's token (DELETE /me), a third
young person to archive and an account never activated for the adviser to delete.
"""

import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

URL = os.environ["SERVER_URL"]
PASSWORD = os.environ["PASSWORD"]
ADVISERS = os.environ["ADVISERS"].split()


def call(method, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(URL + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
    except urllib.error.HTTPError as e:
        sys.exit(f"accounts: {method} {path}: {e.code} {e.read().decode(errors='replace')}")
    return json.loads(text) if text else None


def login(email):
    return call("POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD})["access_token"]


def safe(value):
    value = str(value)
    if not re.fullmatch(r"[A-Za-z0-9@._+-]+", value):
        sys.exit(f"accounts: unexpected value {value!r}")
    return value


def main():
    for email in ADVISERS:
        adviser = login(email)
        portfolio = call("GET", "/api/v1/young-people", token=adviser)
        # Three activated young people: the run's, one who deletes their account, one archived.
        activated = [y for y in portfolio if call("GET", f"/api/v1/young-people/{y['id']}", token=adviser)["activated"]]
        if len(activated) >= 3:
            portfolio = activated
            break
    else:
        sys.exit("accounts: no demo adviser has three activated young people")
    young = portfolio[0]
    young_token = login(young["email"])
    base = f"/api/v1/young-people/{young['id']}"
    action = call("POST", f"{base}/actions", {"title": "Action de la recette", "category": "EMPLOI"}, adviser)
    appointment = call(
        "POST",
        f"{base}/appointments",
        {
            "title": "Entretien de la recette",
            "kind": "ENTRETIEN_INDIVIDUEL_CONSEILLER",
            # In the rulebook's window (from a year before to two years after now).
            "starts_at": (datetime.now(timezone.utc) + timedelta(days=7)).strftime("%Y-%m-%dT09:00:00Z"),
            "duration_minutes": 30,
            "modality": "in_person",
        },
        adviser,
    )
    doomed = call("POST", f"{base}/actions", {"title": "Action à supprimer", "category": "EMPLOI"}, adviser)
    task = call("POST", f"{base}/tasks", {"title": "Candidature de la recette", "kind": "APPLICATION"}, young_token)
    device = call("POST", "/api/v1/devices", {"platform": "android", "token": "jeton-fcm-de-la-recette"}, young_token)
    # The actions created above reach the young person's notification centre (through the outbox).
    for _ in range(100):
        notifications = call("GET", "/api/v1/notifications", token=young_token)
        if notifications:
            break
        time.sleep(0.1)
    else:
        sys.exit("accounts: the young person got no notification within 10 s")
    never_activated = call(
        "POST",
        "/api/v1/young-people",
        {"first_name": "Jamais", "last_name": "Activé", "email": "jamais.active@recette.fr"},
        adviser,
    )
    values = {
        "ADVISER_EMAIL": email,
        "ADVISER_TOKEN": adviser,
        "YOUNG_EMAIL": young["email"],
        "YOUNG_TOKEN": young_token,
        "LOGOUT_TOKEN": login(email),
        "YOUNG_PERSON_ID": young["id"],
        "ACTION_ID": action["id"],
        "APPOINTMENT_ID": appointment["id"],
        "TASK_ID": task["id"],
        "DELETED_ACTION_ID": doomed["id"],
        "DEVICE_TOKEN": device["token"],
        "NOTIFICATION_ID": notifications[0]["id"],
        "LEAVING_TOKEN": login(portfolio[1]["email"]),
        "ARCHIVED_ID": portfolio[2]["id"],
        "NEVER_ACTIVATED_ID": never_activated["id"],
    }
    for name, value in values.items():
        print(f"{name}={safe(value)}")


if __name__ == "__main__":
    main()
