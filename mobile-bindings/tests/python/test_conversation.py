"""The conversation through the generated bindings, against the real server: two phones of a young
person and their adviser write offline and converge; a message sent offline arrives after
reconnection exactly once; the rulebook's refusals come back as MobileError."""

import threading

import pytest

import pass_emploi_sync as pe
from conftest import http


def conversation(adviser, young):
    return http("GET", f"/api/v1/young-people/{young.id}/conversation?limit=200", token=adviser.token)


def adviser_sends(adviser, young, text):
    return http("POST", f"/api/v1/young-people/{young.id}/conversation/messages", {"text": text}, adviser.token)


class Listener(pe.PlanListener):
    def __init__(self):
        self.messages = threading.Event()
        self.online = threading.Event()

    def plan_changed(self):
        pass

    def connection_changed(self, connection):
        if connection.is_ONLINE():
            self.online.set()

    def messages_changed(self):
        self.messages.set()


def test_two_phones_and_the_adviser_write_offline_and_converge(young, adviser, tmp_path):
    first = young.phone(tmp_path / "first")
    second = young.phone(tmp_path / "second")
    assert first.config.conversation_document_id
    sent = first.send_message("Bonjour, j'ai trouvé une offre", None)
    later = second.send_message("Envoyé du second téléphone", None)
    second.edit_message(later, "Envoyé du second téléphone (corrigé)")
    adviser_sends(adviser, young, "Bonjour, je regarde")
    assert first.pending_changes() == 1

    for _ in range(2):
        for phone in (first, second):
            assert phone.sync_now().pending_changes == 0
    on_first = first.messages(None, 50)
    on_second = second.messages(None, 50)
    assert on_first == on_second
    assert [m.text for m in on_first] == [m["text"] for m in conversation(adviser, young)["messages"]]
    assert len(on_first) == 3
    edited = next(m for m in on_first if m.id == later)
    assert edited.edited and edited.text.endswith("(corrigé)")
    assert first.unread_messages() == 1
    first.mark_messages_read()
    assert first.unread_messages() == 0
    assert sent in [m.id for m in on_second]


def test_a_message_sent_offline_arrives_once_after_reconnection(young, adviser, tmp_path):
    phone = young.phone(tmp_path / "phone")
    sent = phone.send_message("Écrit dans le métro", None)
    # Reopened as the app is at its next launch: the message is on disk, still to send.
    reopened = pe.OfflineClient.open(phone.config, phone.tokens)
    assert [m.id for m in reopened.messages(None, 10)] == [sent]
    listener = Listener()
    reopened.set_listener(listener)
    reopened.start_live()
    try:
        assert listener.online.wait(10)
        for _ in range(100):
            if reopened.pending_changes() == 0:
                break
            threading.Event().wait(0.1)
        assert reopened.pending_changes() == 0
        ids = [m["id"] for m in conversation(adviser, young)["messages"]]
        assert ids.count(sent) == 1
        # A second sync sends nothing again.
        reopened.sync_now()
        assert [m["id"] for m in conversation(adviser, young)["messages"]].count(sent) == 1
        adviser_sends(adviser, young, "Bien reçu")
        assert listener.messages.wait(10), "messages_changed is called when the adviser answers"
        assert reopened.messages(None, 1)[0].text == "Bien reçu"
    finally:
        reopened.stop_live()


def test_the_rulebook_refuses_what_the_young_person_may_not_do(young, adviser, tmp_path):
    phone = young.phone(tmp_path / "phone")
    adviser_sends(adviser, young, "Message du conseiller")
    phone.sync_now()
    theirs = phone.messages(None, 1)[0]
    with pytest.raises(pe.MobileError.Refused) as refused:
        phone.edit_message(theirs.id, "Réécrit")
    assert "auteur" in str(refused.value)
    with pytest.raises(pe.MobileError.Refused):
        phone.send_message("é" * 5001, None)
    with pytest.raises(pe.MobileError.InvalidInput):
        phone.messages(None, 0)
    mine = phone.send_message("À supprimer", None)
    phone.delete_message(mine)
    assert phone.messages(None, 1)[0].text == "Message supprimé"
