"""The offline client through its generated Python bindings, against the real server.

Two phones of one young person (two OfflineClient in two directories) and their adviser (REST).
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

import pass_emploi_sync as pe

HERE = os.path.dirname(os.path.abspath(__file__))


def rest_actions(adviser, young):
    """The adviser's view of the actions, keyed by id, in the phone's terms."""
    return {
        a["id"]: (
            a["title"],
            a["description"],
            a["category"],
            a["status"],
            a["due_date"],
            a["updated_at"],
            tuple(c["text"] for c in a["comments"]),
        )
        for a in adviser.plan(young.id)["actions"]
    }


def phone_actions(phone):
    return {
        a.id: (
            a.title,
            a.description,
            a.category.name,
            a.status.name.lower(),
            a.due_date,
            a.updated_at,
            tuple(c.text for c in a.comments),
        )
        for a in phone.plan().actions
    }


def action(phone, action_id):
    found = [a for a in phone.plan().actions if a.id == action_id]
    assert len(found) == 1, f"action {action_id} not on the phone"
    return found[0]


def concurrent_offline_edits(young, adviser, tmp_path):
    """Both phones and the adviser share one action, then each edits it (and more) with no sync."""
    phone_a = young.phone(tmp_path / "phone-a")
    phone_b = young.phone(tmp_path / "phone-b")
    shared = phone_a.create_action(pe.NewAction(title="Préparer l'entretien chez Decathlon", due_date="2026-12-05"))
    phone_a.sync_now()
    phone_b.sync_now()
    assert phone_actions(phone_a) == phone_actions(phone_b)
    assert phone_a.pending_changes() == 0 and phone_b.pending_changes() == 0

    # Offline: nobody syncs. Concurrent edits of one action (the same field on both phones, other
    # fields here and there), plus one new action per side.
    phone_a.update_action(shared, pe.ActionPatch(title="Titre du téléphone A", status=pe.ActionStatus.IN_PROGRESS))
    phone_a.comment_action(shared, "Commentaire du téléphone A")
    only_a = phone_a.create_action(pe.NewAction(title="Action créée hors ligne sur A"))
    phone_b.update_action(shared, pe.ActionPatch(title="Titre du téléphone B", description="Apporter le CV"))
    phone_b.comment_action(shared, "Commentaire du téléphone B")
    only_b = phone_b.create_action(pe.NewAction(title="Action créée hors ligne sur B", category=pe.ActionCategory.SANTE))
    adviser.patch_action(young.id, shared, due_date="2026-12-12", category="EMPLOI")
    adviser.comment_action(young.id, shared, "Commentaire de la conseillère")
    by_adviser = adviser.create_action(young.id, title="Action de la conseillère", category="FORMATION")["id"]

    # Each side still sees only its own edits, and the edits are counted as pending.
    assert action(phone_a, shared).title == "Titre du téléphone A"
    assert action(phone_b, shared).title == "Titre du téléphone B"
    assert only_b not in phone_actions(phone_a) and only_a not in phone_actions(phone_b)
    assert phone_a.pending_changes() == 3 and phone_b.pending_changes() == 3
    return phone_a, phone_b, shared, {only_a, only_b, by_adviser}


def assert_converged(young, adviser, phone_a, phone_b, shared, created):
    plan_a, plan_b = phone_a.plan(), phone_b.plan()
    assert plan_a == plan_b, "the two phones hold different plans"
    assert phone_actions(phone_a) == rest_actions(adviser, young), "the phones and the server differ"
    assert created <= set(phone_actions(phone_a))
    merged = action(phone_a, shared)
    # The same field edited on both phones: one of the two titles wins, the same everywhere.
    assert merged.title in ("Titre du téléphone A", "Titre du téléphone B")
    assert merged.description == "Apporter le CV"
    assert merged.status == pe.ActionStatus.IN_PROGRESS
    assert merged.category == pe.ActionCategory.EMPLOI
    assert merged.due_date == "2026-12-12"
    assert sorted(c.text for c in merged.comments) == [
        "Commentaire de la conseillère",
        "Commentaire du téléphone A",
        "Commentaire du téléphone B",
    ]
    assert phone_a.pending_changes() == 0 and phone_b.pending_changes() == 0
    assert phone_a.notices() == [] and phone_b.notices() == []


def test_two_phones_and_the_adviser_converge_a_then_b_then_a(young, adviser, tmp_path):
    phone_a, phone_b, shared, created = concurrent_offline_edits(young, adviser, tmp_path)
    first = phone_a.sync_now()
    assert first.pending_changes == 0 and first.plan_changed and first.bytes_sent > 0
    phone_b.sync_now()
    phone_a.sync_now()
    assert_converged(young, adviser, phone_a, phone_b, shared, created)


def test_two_phones_and_the_adviser_converge_b_then_a_then_b(young, adviser, tmp_path):
    phone_a, phone_b, shared, created = concurrent_offline_edits(young, adviser, tmp_path)
    phone_b.sync_now()
    phone_a.sync_now()
    phone_b.sync_now()
    assert_converged(young, adviser, phone_a, phone_b, shared, created)
    # Reopening from disk gives the same plan (nothing lives only in memory).
    config, tokens = phone_b.config, phone_b.tokens
    expected = phone_b.plan()
    del phone_b
    assert pe.OfflineClient.open(config, tokens).plan() == expected


def test_an_edit_refused_by_the_server_is_undone_and_shows_up_as_a_notice(young, adviser, tmp_path):
    phone = young.phone(tmp_path / "phone")
    cv = phone.create_action(pe.NewAction(title="Mettre à jour mon CV", category=pe.ActionCategory.EMPLOI))
    phone.complete_action(cv)
    phone.sync_now()
    # The adviser qualifies the done action (it is locked from then on) while the phone, offline,
    # still edits it: its rulebook cannot know yet.
    adviser.qualify_action(young.id, cv, "EMPLOI", "CV envoyé à trois employeurs")
    phone.update_action(cv, pe.ActionPatch(title="Mettre à jour mon CV et ma lettre"))
    assert action(phone, cv).title == "Mettre à jour mon CV et ma lettre"
    assert phone.notices() == []

    phone.sync_now()
    undone = action(phone, cv)
    assert undone.title == "Mettre à jour mon CV", "the refused edit is undone on the phone"
    assert undone.qualification is not None and undone.qualification.code == pe.QualificationCode.EMPLOI
    notices = phone.notices()
    assert len(notices) == 1, notices
    assert notices[0].for_user == young.id and notices[0].reasons, notices
    assert phone.pending_changes() == 0
    assert rest_actions(adviser, young)[cv][0] == "Mettre à jour mon CV"
    # And now the phone's own rulebook refuses the same edit at once, with a French message.
    with pytest.raises(pe.MobileError.Refused) as refused:
        phone.update_action(cv, pe.ActionPatch(title="Encore une fois"))
    assert "refusée" in str(refused.value)


CRASHING_PHONE = """
import json, sys, time
import pass_emploi_sync as pe

class Tokens(pe.TokenSource):
    def access_token(self):
        return None
    def refresh_access_token(self):
        return None

config = pe.ClientConfig(**json.loads(sys.argv[1]))
phone = pe.OfflineClient.open(config, Tokens())
for i in range(1000):
    action_id = phone.create_action(pe.NewAction(title=f"Action {i}"))
    phone.comment_action(action_id, f"Commentaire {i}")
    print(action_id, flush=True)  # both edits of this action returned: they are saved
    if i == 0:
        sys.stdin.readline()  # waits between two edits until the test kills it
"""


def test_killing_the_process_between_edits_loses_nothing_saved(young, tmp_path):
    data_dir = tmp_path / "phone"
    phone = young.phone(data_dir)
    config, tokens = phone.config, phone.tokens
    phone.create_action(pe.NewAction(title="Avant le crash"))
    del phone

    fields = {f: getattr(config, f) for f in ("server_url", "data_dir", "young_person_id", "plan_document_id", "timezone")}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    script = tmp_path / "crashing_phone.py"
    script.write_text(CRASHING_PHONE)

    # 1. Killed while waiting between two edits.
    child = subprocess.Popen(
        [sys.executable, str(script), json.dumps(fields)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    first = child.stdout.readline().strip()
    assert first, "the child printed nothing"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    reopened = pe.OfflineClient.open(config, tokens)
    titles = {a.title for a in reopened.plan().actions}
    assert {"Avant le crash", "Action 0"} <= titles
    assert [c.text for c in action(reopened, first).comments] == ["Commentaire 0"]
    del reopened

    # 2. Killed in the middle of a burst of edits: everything reported as saved is there.
    child = subprocess.Popen(
        [sys.executable, str(script), json.dumps(fields)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    saved = [child.stdout.readline().strip()]
    child.stdin.write("\n")
    child.stdin.flush()
    while len(saved) < 40:
        line = child.stdout.readline().strip()
        assert line, "the child stopped early"
        saved.append(line)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    reopened = pe.OfflineClient.open(config, tokens)
    on_disk = {a.id: a for a in reopened.plan().actions}
    missing = [s for s in saved if s not in on_disk or not on_disk[s].comments]
    assert missing == [], f"{len(missing)} saved edits lost: {missing[:3]}"
    # The reopened store keeps working and syncs everything.
    reopened.sync_now()
    assert reopened.pending_changes() == 0


class Listener(pe.PlanListener):
    def __init__(self):
        self.changed = threading.Event()
        self.connections = []
        self.online = threading.Event()

    def plan_changed(self):
        self.changed.set()

    def messages_changed(self):
        pass

    def connection_changed(self, connection):
        self.connections.append(connection)
        if connection.is_ONLINE():
            self.online.set()


def test_live_sync_tells_the_listener_when_the_adviser_edits(young, adviser, tmp_path):
    phone = young.phone(tmp_path / "phone")
    listener = Listener()
    phone.set_listener(listener)
    phone.start_live()
    try:
        assert listener.online.wait(15), f"never online: {listener.connections}"
        assert phone.connection() == pe.Connection.ONLINE()
        time.sleep(0.5)  # let the first exchange settle
        listener.changed.clear()
        started = time.monotonic()
        created = adviser.create_action(young.id, title="Action créée en direct par la conseillère", category="EMPLOI")
        assert listener.changed.wait(5), "plan_changed did not fire within 5 s"
        print(f"plan_changed {time.monotonic() - started:.2f} s after the adviser's request was sent")
        assert created["id"] in phone_actions(phone)

        # The other way: an edit on the phone reaches the server without any explicit sync.
        mine = phone.create_action(pe.NewAction(title="Action du téléphone en direct"))
        deadline = time.monotonic() + 5
        while mine not in rest_actions(adviser, young) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert mine in rest_actions(adviser, young)
    finally:
        phone.stop_live()
    assert phone.connection() == pe.Connection.STOPPED()
    assert listener.connections[-1] == pe.Connection.STOPPED()


def test_errors_cross_the_ffi_as_mobile_error(young, api, tmp_path):
    phone = young.phone(tmp_path / "phone")
    unknown = str(uuid.uuid4())
    with pytest.raises(pe.MobileError.NotFound) as not_found:
        phone.complete_action(unknown)
    assert unknown in str(not_found.value) and "introuvable" in str(not_found.value)
    with pytest.raises(pe.MobileError.InvalidInput) as invalid:
        phone.update_action("pas-un-identifiant", pe.ActionPatch(title="x"))
    assert "identifiant invalide" in str(invalid.value)
    with pytest.raises(pe.MobileError.InvalidInput):
        phone.create_action(pe.NewAction(title="Date à l'envers", due_date="05/12/2026"))
    with pytest.raises(pe.MobileError.Refused):
        phone.create_action(pe.NewAction(title="   "))  # the rulebook: a title is not blank
    with pytest.raises(pe.MobileError.Refused):
        api.login(young.email, "mauvais mot de passe")
    with pytest.raises(pe.MobileError.InvalidInput):
        pe.ServerApi("ftp://exemple.fr")
    unreachable = pe.ServerApi("http://127.0.0.1:9")
    with pytest.raises(pe.MobileError.Network):
        unreachable.login(young.email, young.password)
    # An exception thrown by the app's callback is not a crash: no token, so signed out.
    class Broken(pe.TokenSource):
        def access_token(self):
            raise RuntimeError("trousseau verrouillé")

        def refresh_access_token(self):
            raise RuntimeError("trousseau verrouillé")

    c = phone.config
    config = pe.ClientConfig(
        server_url=c.server_url,
        data_dir=str(tmp_path / "broken-keychain"),
        young_person_id=c.young_person_id,
        plan_document_id=c.plan_document_id,
        timezone=c.timezone,
    )
    broken = pe.OfflineClient.open(config, Broken())
    with pytest.raises(pe.MobileError.SignedOut):
        broken.sync_now()
    assert broken.pending_changes() == 0


def test_queries_push_token_and_logout(young, adviser, api, tmp_path):
    phone = young.phone(tmp_path / "phone")
    assert phone.recovery() == pe.Recovery(truncated_bytes=0, corrupt_snapshots=0)
    assert phone.young_person_id() == young.id
    today = time.strftime("%Y-%m-%d")
    due = phone.create_action(pe.NewAction(title="À faire aujourd'hui", due_date=today))
    done = phone.create_action(pe.NewAction(title="Déjà faite"))
    phone.complete_action(done)
    task = phone.create_task(pe.NewTask(kind=pe.TaskKind.APPLICATION, title="Candidature boulangerie", company="Paul"))
    phone.update_task(task, pe.TaskPatch(company="", notes="Relancer lundi"))
    agenda = phone.agenda(today)
    assert [a.id for a in agenda.actions_due] == [due] and agenda.day == today
    assert [a.id for a in phone.actions(pe.ActionStatus.DONE)] == [done]
    assert len(phone.actions()) == 2
    [t] = phone.tasks()
    assert (t.company, t.notes, t.status) == (None, "Relancer lundi", pe.TaskStatus.TO_DO)
    assert phone.pending_changes() == 5 and phone.storage_bytes() > 0

    # Refused while changes are not on the server; the client stays usable.
    with pytest.raises(pe.MobileError.PendingChanges) as pending:
        phone.logout(False)
    assert pending.value.count == 5
    phone.sync_now()
    assert phone.upcoming_appointments() == []

    phone.register_push_token(pe.Platform.ANDROID, "fcm-token-" + uuid.uuid4().hex)
    api.register_device(phone.tokens.access_token(), pe.Platform.IOS, "a" * 64)

    token = phone.tokens.access_token()
    phone.logout(False)
    assert not os.path.exists(os.path.join(phone.config.data_dir, "state.json"))
    with pytest.raises(pe.MobileError.SignedOut):
        phone.plan()
    with pytest.raises(pe.MobileError.SignedOut):
        api.me(token)  # the session was revoked on the server
