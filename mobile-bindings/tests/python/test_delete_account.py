"""A young person deletes their own account from the phone (issue 14): `OfflineClient.delete_account`.

On success the server holds nothing of them any more and the phone's store is wiped; when the server
cannot be reached nothing is deleted, on either side, and the client stays usable.
"""

import os
import threading

import pytest

import pass_emploi_sync as pe

from conftest import HttpError, http


def store_is_empty(data_dir):
    return not os.path.exists(data_dir) or os.listdir(data_dir) == []


def with_server(config, server_url):
    return pe.ClientConfig(
        server_url=server_url,
        data_dir=config.data_dir,
        young_person_id=config.young_person_id,
        plan_document_id=config.plan_document_id,
        timezone=config.timezone,
    )


class Listener(pe.PlanListener):
    def __init__(self):
        self.online = threading.Event()

    def plan_changed(self):
        pass

    def messages_changed(self):
        pass

    def connection_changed(self, connection):
        if connection.is_ONLINE():
            self.online.set()


def test_a_young_person_deletes_their_account_from_the_phone(young, adviser, api, tmp_path):
    phone = young.phone(tmp_path / "phone")
    data_dir = phone.config.data_dir
    synced = phone.create_action(pe.NewAction(title="Préparer mon entretien"))
    phone.sync_now()
    assert synced in {a["id"] for a in adviser.plan(young.id)["actions"]}
    # One more edit, not sent: the account goes, and it with it.
    phone.create_action(pe.NewAction(title="Jamais envoyée"))
    assert phone.pending_changes() == 1
    # A live session open at the time is closed before the files go.
    listener = Listener()
    phone.set_listener(listener)
    phone.start_live()
    assert listener.online.wait(15), "never online"
    token = phone.tokens.access_token()
    assert os.listdir(data_dir), "the plan is on the phone"

    phone.delete_account()

    assert store_is_empty(data_dir), os.listdir(data_dir)
    for call in (phone.plan, phone.sync_now, phone.pending_changes, phone.delete_account):
        with pytest.raises(pe.MobileError.SignedOut):
            call()
    with pytest.raises(pe.MobileError.SignedOut):
        phone.logout(True)
    assert phone.connection() == pe.Connection.SIGNED_OUT()
    # The server: the session is gone, signing in again fails, the adviser no longer finds them.
    with pytest.raises(pe.MobileError.SignedOut):
        api.me(token)
    with pytest.raises(pe.MobileError.Refused):
        young.login()
    with pytest.raises(HttpError) as gone:
        http("GET", f"/api/v1/young-people/{young.id}", token=adviser.token)
    assert gone.value.status == 404, gone.value.body


def test_nothing_is_deleted_when_the_server_cannot_be_reached(young, adviser, tmp_path):
    phone = young.phone(tmp_path / "phone")
    config, tokens = phone.config, phone.tokens
    phone.create_action(pe.NewAction(title="Envoyée"))
    phone.sync_now()
    del phone

    # The same phone, with no network: the call fails, and says so.
    offline = pe.OfflineClient.open(with_server(config, "http://127.0.0.1:9"), tokens)
    offline.create_action(pe.NewAction(title="Pas encore envoyée"))
    files = sorted(os.listdir(config.data_dir))
    with pytest.raises(pe.MobileError.Network) as failed:
        offline.delete_account()
    assert "injoignable" in str(failed.value)
    # The client is still usable, its files and its pending change are kept…
    assert sorted(os.listdir(config.data_dir)) == files
    assert offline.pending_changes() == 1
    assert {a.title for a in offline.plan().actions} == {"Envoyée", "Pas encore envoyée"}
    offline.create_action(pe.NewAction(title="Encore une"))
    assert offline.pending_changes() == 2
    # …and the account is still there.
    young.login()
    assert len(adviser.plan(young.id)["actions"]) == 1
    del offline

    # Back online, the deletion goes through.
    phone = pe.OfflineClient.open(config, tokens)
    assert phone.pending_changes() == 2
    phone.delete_account()
    assert store_is_empty(config.data_dir)
    with pytest.raises(pe.MobileError.Refused):
        young.login()
