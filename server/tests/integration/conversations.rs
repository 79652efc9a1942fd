//! Issue 13: the conversation between a young person and their advisers through the REST API, on
//! both databases: who takes part, the rulebook's answers, transfers, notifications without the
//! text, unread counts, the French search, broadcast, and erasure with the account.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use crate::sync::http_sync_as;
use automerge::sync::SyncDoc;
use axum::http::{Method, StatusCode};
use common::sync_client::{Peer, serve};
use common::{TestApp, TestDb, World, world};
use serde_json::{Value, json};
use sync_core::conversation::rules::Target;
use sync_core::conversation::{Conversation, ConversationDocument, NewMessage};
use sync_core::model::instant_node;
use sync_core::node::Node;
use sync_core::{Author, DocumentId, PlanDocument};
use uuid::Uuid;

fn conversation(yp: Uuid) -> String {
    format!("/api/v1/young-people/{yp}/conversation")
}

async fn send(t: &TestApp, token: &str, yp: Uuid, body: Value) -> common::Reply {
    t.post(&format!("{}/messages", conversation(yp)), token, body).await
}

struct Tokens {
    y1: String,
    a: String,
    b: String,
    sup: String,
    admin: String,
    other_sup: String,
}

async fn tokens(t: &TestApp) -> Tokens {
    Tokens {
        y1: t.token("y1@test.fr").await,
        a: t.token("a@test.fr").await,
        b: t.token("b@test.fr").await,
        sup: t.token("sup@test.fr").await,
        admin: t.token("admin@test.fr").await,
        other_sup: t.token("sup2@test.fr").await,
    }
}

async fn participants_write_and_nobody_else_reads(db: &TestDb) {
    let t = db.app().await;
    let w: World = world(&t).await;
    let k = tokens(&t).await;

    let first = send(&t, &k.y1, w.y1, json!({"text": "Bonjour, j'ai une question sur mon CV"})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(first.body["mine"], true);
    assert_eq!(first.body["author"]["role"], "young_person");

    let read = t.get(&conversation(w.y1), &k.a).await;
    assert_eq!(read.status, StatusCode::OK, "{:?}", read.body);
    assert_eq!(read.body["unread"], 1);
    assert_eq!(read.body["messages"][0]["text"], "Bonjour, j'ai une question sur mon CV");
    assert_eq!(read.body["messages"][0]["mine"], false);
    let reply = send(&t, &k.a, w.y1, json!({"text": "Bonjour, je regarde cela"})).await;
    assert_eq!(reply.status, StatusCode::CREATED);

    // The plan is the supervisor's to read; the conversation is not.
    assert_eq!(t.get(&format!("/api/v1/young-people/{}/plan", w.y1), &k.sup).await.status, StatusCode::OK);
    for token in [&k.b, &k.sup, &k.admin, &k.other_sup] {
        assert_eq!(t.get(&conversation(w.y1), token).await.status, StatusCode::NOT_FOUND);
        assert_eq!(send(&t, token, w.y1, json!({"text": "Intrus"})).await.status, StatusCode::NOT_FOUND);
    }

    // Newest first, and the document listed by /me and the young person's resource.
    let read = t.get(&conversation(w.y1), &k.y1).await;
    let texts: Vec<&str> =
        read.body["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["Bonjour, je regarde cela", "Bonjour, j'ai une question sur mon CV"]);
    let me = t.get("/api/v1/me", &k.y1).await;
    assert_eq!(me.body["conversation_document_id"], read.body["document_id"]);
    let resource = t.get(&format!("/api/v1/young-people/{}", w.y1), &k.a).await;
    assert_eq!(resource.body["conversation_document_id"], read.body["document_id"]);
    let for_sup = t.get(&format!("/api/v1/young-people/{}", w.y1), &k.sup).await;
    assert_eq!(for_sup.status, StatusCode::OK);
    assert!(for_sup.body.get("conversation_document_id").is_none());

    // The rulebook: nobody edits another's message; one's own says it was edited; a deleted one
    // leaves « Message supprimé »; a retried send sends once; texts are bounded.
    let adviser_message = reply.body["id"].as_str().unwrap();
    let path = format!("{}/messages/{adviser_message}", conversation(w.y1));
    let refused = t.call(Method::PATCH, &path, Some(&k.y1), Some(json!({"text": "Réécrit"}))).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", refused.body);
    assert!(refused.problem_codes().contains(&"not_author".to_owned()), "{:?}", refused.body);
    let own = first.body["id"].as_str().unwrap();
    let path = format!("{}/messages/{own}", conversation(w.y1));
    let edited = t.call(Method::PATCH, &path, Some(&k.y1), Some(json!({"text": "Question sur mon CV"}))).await;
    assert_eq!(edited.status, StatusCode::OK, "{:?}", edited.body);
    assert_eq!(edited.body["edited"], true);
    let deleted = t.call(Method::DELETE, &path, Some(&k.y1), None).await;
    assert_eq!(deleted.body["text"], "Message supprimé");
    assert_eq!(deleted.body["deleted"], true);
    assert_eq!(deleted.body["edited"], false);

    let id = Uuid::new_v4();
    let once = send(&t, &k.y1, w.y1, json!({"id": id, "text": "Une seule fois"})).await;
    let again = send(&t, &k.y1, w.y1, json!({"id": id, "text": "Une seule fois"})).await;
    assert_eq!((once.status, again.status), (StatusCode::CREATED, StatusCode::OK));
    let long = send(&t, &k.y1, w.y1, json!({"text": "é".repeat(5_001)})).await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(long.problem_codes().contains(&"too_long".to_owned()), "{:?}", long.body);
    let read = t.get(&conversation(w.y1), &k.a).await;
    assert_eq!(read.body["messages"].as_array().unwrap().len(), 3);

    // Pages: one message at a time, down to the first.
    let mut before: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let query = before.as_ref().map(|b| format!("&before={b}")).unwrap_or_default();
        let page = t.get(&format!("{}?limit=1{query}", conversation(w.y1)), &k.a).await;
        seen.extend(page.body["messages"].as_array().unwrap().iter().map(|m| m["id"].clone()));
        match page.body["next_before"].as_str() {
            Some(next) => before = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
}

async fn a_transfer_hands_the_history_over_and_says_so_once(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let k = tokens(&t).await;
    assert_eq!(send(&t, &k.y1, w.y1, json!({"text": "Avant le transfert"})).await.status, StatusCode::CREATED);
    let body = json!({"young_person_ids": [w.y1], "to_adviser_id": w.b, "kind": "definitive"});
    for _ in 0..2 {
        let moved = t.post("/api/v1/transfers", &k.sup, body.clone()).await;
        assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    }
    assert_eq!(t.get(&conversation(w.y1), &k.a).await.status, StatusCode::NOT_FOUND);
    let read = t.get(&conversation(w.y1), &k.b).await;
    assert_eq!(read.status, StatusCode::OK);
    let messages = read.body["messages"].as_array().unwrap();
    let system: Vec<&Value> = messages.iter().filter(|m| m["kind"] == "system").collect();
    assert_eq!(system.len(), 1, "{messages:?}");
    assert_eq!(system[0]["text"], "Votre conseiller est désormais Ad B.");
    assert!(messages.iter().any(|m| m["text"] == "Avant le transfert"));
    // A temporary adviser takes part too.
    let body = json!({"young_person_ids": [w.y1], "to_adviser_id": w.a, "kind": "temporary"});
    assert_eq!(t.post("/api/v1/transfers", &k.sup, body).await.status, StatusCode::OK);
    assert_eq!(send(&t, &k.a, w.y1, json!({"text": "Je remplace B"})).await.status, StatusCode::CREATED);
}

async fn a_message_is_pushed_without_its_text(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let k = tokens(&t).await;
    send(&t, &k.y1, w.y1, json!({"text": "Mon secret très personnel"})).await;
    let to_adviser = t.store.notifications_of(w.a).await.unwrap();
    let rows: Vec<_> = to_adviser.iter().filter(|n| n.kind == "messages").collect();
    let mut channels: Vec<&str> = rows.iter().map(|n| n.channel.as_str()).collect();
    channels.sort_unstable();
    assert_eq!(channels, ["in_app", "web"]);
    for row in &rows {
        assert_eq!(row.body, "Nouveau message de Y");
        assert!(!row.payload.contains("secret") && !row.title.contains("secret"));
    }

    send(&t, &k.a, w.y1, json!({"text": "Autre secret"})).await;
    let to_young_person = t.store.notifications_of(w.y1).await.unwrap();
    let rows: Vec<_> = to_young_person.iter().filter(|n| n.kind == "messages").collect();
    assert_eq!(rows.len(), 2, "mobile + in_app");
    assert!(rows.iter().all(|n| n.body == "Nouveau message de votre conseiller" && !n.payload.contains("secret")));

    // The young person's `messages` preference silences the phone, not the centre.
    let off =
        t.call(Method::PUT, "/api/v1/me/notification-preferences", Some(&k.y1), Some(json!({"messages": false}))).await;
    assert_eq!(off.status, StatusCode::OK, "{:?}", off.body);
    t.state.documents.invalidate_notification_context(w.y1);
    send(&t, &k.a, w.y1, json!({"text": "Encore"})).await;
    let rows = t.store.notifications_of(w.y1).await.unwrap();
    let channels: Vec<&str> = rows.iter().filter(|n| n.kind == "messages").map(|n| n.channel.as_str()).collect();
    assert_eq!(channels.iter().filter(|c| **c == "mobile").count(), 1, "{channels:?}");
    assert_eq!(channels.iter().filter(|c| **c == "in_app").count(), 2, "{channels:?}");
}

async fn unread_counts_follow_the_read_markers(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let k = tokens(&t).await;
    for text in ["Un", "Deux", "Trois"] {
        send(&t, &k.y1, w.y1, json!({"text": text})).await;
    }
    let unread = t.get("/api/v1/conversations/unread", &k.a).await;
    assert_eq!(unread.body, json!([{"young_person_id": w.y1, "unread": 3}]));
    let read = t.post(&format!("{}/read", conversation(w.y1)), &k.a, json!({})).await;
    assert_eq!(read.status, StatusCode::NO_CONTENT, "{:?}", read.body);
    assert_eq!(t.get("/api/v1/conversations/unread", &k.a).await.body, json!([]));
    assert_eq!(t.get(&conversation(w.y1), &k.a).await.body["unread"], 0);
    send(&t, &k.a, w.y1, json!({"text": "Réponse"})).await;
    assert_eq!(
        t.get("/api/v1/conversations/unread", &k.y1).await.body,
        json!([{"young_person_id": w.y1, "unread": 1}])
    );
    // B follows Y2 and Y3, who wrote nothing.
    assert_eq!(t.get("/api/v1/conversations/unread", &k.b).await.body, json!([]));
}

async fn the_search_finds_french_words(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let k = tokens(&t).await;
    for text in ["J'ai un entretien demain matin", "Les entretiens d'embauche me stressent", "Rien à voir"] {
        send(&t, &k.y1, w.y1, json!({"text": text})).await;
    }
    let search = |q: &'static str| {
        let (t, token) = (&t, &k.a);
        async move {
            let r = t.get(&format!("{}/search?q={q}", conversation(w.y1)), token).await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
            let mut texts: Vec<String> =
                r.body.as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect();
            texts.sort();
            texts
        }
    };
    assert_eq!(search("entretien").await, ["J'ai un entretien demain matin", "Les entretiens d'embauche me stressent"]);
    let plural = search("entretiens").await;
    if db.backend == common::Backend::Postgres {
        // French stemming: the plural finds the singular.
        assert_eq!(plural, ["J'ai un entretien demain matin", "Les entretiens d'embauche me stressent"]);
    } else {
        assert_eq!(plural, ["Les entretiens d'embauche me stressent"]);
    }
    assert!(search("embauche").await.len() == 1);
    assert!(search("%20").await.is_empty());
    assert_eq!(t.get(&format!("{}/search?q=cv", conversation(w.y1)), &k.y1).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.get(&format!("{}/search?q=cv", conversation(w.y1)), &k.b).await.status, StatusCode::NOT_FOUND);
}

async fn a_broadcast_sends_one_copy_to_each_followed_young_person(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let k = tokens(&t).await;
    let body = json!({"id": Uuid::new_v4(), "young_person_ids": [w.y2, w.y3, w.y1], "text": "Atelier CV jeudi"});
    let first = t.post("/api/v1/conversations/broadcast", &k.b, body.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body["sent"].as_array().unwrap().len(), 2);
    assert_eq!(first.body["not_followed"], json!([w.y1]));
    let again = t.post("/api/v1/conversations/broadcast", &k.b, body).await;
    assert_eq!(again.body["sent"], first.body["sent"]);
    for yp in [w.y2, w.y3] {
        let read = t.get(&conversation(yp), &k.b).await;
        assert_eq!(read.body["messages"].as_array().unwrap().len(), 1, "one copy for {yp}");
    }
    assert!(t.get(&conversation(w.y1), &k.a).await.body["messages"].as_array().unwrap().is_empty());
    // A saved list: only young people of the portfolio; a broadcast to it reaches each member.
    let lists = "/api/v1/broadcast-lists";
    let refused = t.post(lists, &k.b, json!({"title": "Groupe CV", "young_person_ids": [w.y1, w.y2]})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", refused.body);
    let list = t.post(lists, &k.b, json!({"title": "Groupe CV", "young_person_ids": [w.y3, w.y2, w.y2]})).await;
    assert_eq!(list.status, StatusCode::CREATED, "{:?}", list.body);
    let listed = t.get(lists, &k.b).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(listed.body[0]["young_person_ids"].as_array().unwrap().len(), 2);
    assert_eq!(t.get(lists, &k.a).await.body, json!([]));
    let by_list = json!({"id": Uuid::new_v4(), "list_id": list.body["id"], "text": "Rappel : atelier jeudi"});
    let sent = t.post("/api/v1/conversations/broadcast", &k.b, by_list).await;
    assert_eq!(sent.status, StatusCode::OK, "{:?}", sent.body);
    assert_eq!(sent.body["sent"].as_array().unwrap().len(), 2);
    for yp in [w.y2, w.y3] {
        assert_eq!(t.get(&conversation(yp), &k.b).await.body["messages"].as_array().unwrap().len(), 2);
    }
    let both = json!({"id": Uuid::new_v4(), "list_id": list.body["id"], "young_person_ids": [w.y2], "text": "x"});
    assert_eq!(t.post("/api/v1/conversations/broadcast", &k.b, both).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let path = format!("{lists}/{}", list.body["id"].as_str().unwrap());
    assert_eq!(t.call(Method::DELETE, &path, Some(&k.a), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.call(Method::DELETE, &path, Some(&k.b), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.get(lists, &k.b).await.body, json!([]));
    assert_eq!(t.get(lists, &k.y1).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        t.post(
            "/api/v1/conversations/broadcast",
            &k.y1,
            json!({"id": Uuid::new_v4(), "young_person_ids": [w.y1], "text": "x"})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

async fn the_important_message_is_the_advisers(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let k = tokens(&t).await;
    let today = chrono::Utc::now().date_naive();
    let body = json!({"text": "Atelier CV jeudi à 14 h", "starts_on": today - chrono::Duration::days(1), "ends_on": today + chrono::Duration::days(6)});
    let path = format!("{}/important", conversation(w.y1));
    assert_eq!(t.call(Method::PUT, &path, Some(&k.a), Some(body.clone())).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.get(&conversation(w.y1), &k.y1).await.body["important"]["text"], "Atelier CV jeudi à 14 h");
    let refused = t.call(Method::PUT, &path, Some(&k.y1), Some(body)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.call(Method::DELETE, &path, Some(&k.a), None).await.status, StatusCode::NO_CONTENT);
    assert!(t.get(&conversation(w.y1), &k.y1).await.body["important"].is_null());
}

async fn the_conversation_goes_with_the_account(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let k = tokens(&t).await;
    send(&t, &k.y1, w.y1, json!({"text": "Un entretien demain"})).await;
    send(&t, &k.a, w.y1, json!({"text": "Bon courage"})).await;
    assert!(t.store.conversation_of(w.y1).await.unwrap().is_some());
    let list = t.post("/api/v1/broadcast-lists", &k.a, json!({"title": "Groupe", "young_person_ids": [w.y1]})).await;
    assert_eq!(list.status, StatusCode::CREATED);
    // The export holds the conversation.
    let export = t.get("/api/v1/me/export", &k.y1).await;
    assert_eq!(export.status, StatusCode::OK);
    let messages = export.body["conversation"]["content"]["messages"].as_array().unwrap();
    let texts: Vec<&str> = messages.iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["Un entretien demain", "Bon courage"]);
    assert_eq!(t.call(Method::DELETE, "/api/v1/me", Some(&k.y1), None).await.status, StatusCode::NO_CONTENT);
    assert!(t.store.conversation_of(w.y1).await.unwrap().is_none());
    assert!(t.store.search_messages(w.y1, "entretien", 10).await.unwrap().is_empty());
    assert!(t.store.unread_counts(w.a, &[w.y1]).await.unwrap().is_empty());
    let lists = t.get("/api/v1/broadcast-lists", &k.a).await;
    assert_eq!(lists.body[0]["young_person_ids"], json!([]), "they left the adviser's list");
}

/// A phone's replica of the conversation, as the test peer holds documents.
fn replica(young_person: Uuid) -> PlanDocument {
    let mut doc = ConversationDocument::genesis(young_person).unwrap();
    doc.set_actor(automerge::ActorId::random());
    PlanDocument::from_automerge(doc.into_automerge())
}

/// The peer's replica read as a conversation.
fn read(peer: &Peer) -> Conversation {
    ConversationDocument::from_automerge(peer.doc.automerge().clone()).conversation()
}

/// Edits the peer's replica with the conversation's API (offline), keeping its actor.
fn offline(peer: &mut Peer, f: impl FnOnce(&mut ConversationDocument)) {
    let mut doc = ConversationDocument::from_automerge(peer.doc.automerge().clone());
    f(&mut doc);
    peer.doc.automerge_mut().merge(doc.automerge_mut()).unwrap();
}

async fn the_conversation_syncs_live_and_forgeries_are_undone(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let k = tokens(&t).await;
    let addr = serve(t.state.clone()).await;
    let me = t.get("/api/v1/me", &k.y1).await;
    let id: DocumentId = me.body["conversation_document_id"].as_str().unwrap().parse().unwrap();
    send(&t, &k.a, w.y1, json!({"text": "Bonjour, comment avance le CV ?"})).await;

    let mut phone = Peer::connect(addr, &k.y1, "phone-1", id, replica(w.y1)).await;
    phone.sync().await;
    assert_eq!(read(&phone).messages.len(), 1, "the phone gets the adviser's message");
    let mut adviser = Peer::connect(addr, &k.a, "browser-a", id, replica(w.y1)).await;
    adviser.sync().await;

    // Sent offline, then synced: the adviser sees it live, once.
    let sent = Uuid::new_v4();
    offline(&mut phone, |doc| {
        let new = NewMessage { id: Some(sent), text: "Je l'envoie ce soir".into(), reference: None };
        doc.send_message(&Author::young_person(w.y1), chrono::Utc::now(), new).unwrap();
    });
    phone.sync().await;
    assert!(adviser.wait_until(Duration::from_secs(5), |p| read(p).message(sent).is_some()).await);
    let pushed = |rows: Vec<server::store::NotificationRow>| rows.into_iter().filter(|n| n.kind == "messages").count();
    assert_eq!(pushed(t.store.notifications_of(w.a).await.unwrap()), 2, "web + in_app, once");
    let rows = t.store.search_messages(w.y1, "soir", 10).await.unwrap();
    assert_eq!(rows.len(), 1, "the synced message is projected");

    // The same changes again, from a second connection that starts from scratch: nothing new.
    let mut again =
        Peer::connect(addr, &k.y1, "phone-1-again", id, PlanDocument::from_automerge(phone.doc.automerge().clone()))
            .await;
    again.sync().await;
    assert_eq!(pushed(t.store.notifications_of(w.a).await.unwrap()), 2, "a replayed sync notifies once");

    // A modified app rewrites the adviser's message: the server puts it back and says so.
    let adviser_message = read(&phone).messages.iter().find(|m| m.author.id == w.a).unwrap().id;
    offline(&mut phone, |doc| {
        let field = |f: &str| Target::MessageField { id: adviser_message.to_string(), field: f.into() };
        doc.write_target(&field("text"), Some(&Node::from("Réécrit"))).unwrap();
        doc.write_target(&field("edited_at"), Some(&instant_node(chrono::Utc::now()))).unwrap();
        doc.commit("forged", chrono::Utc::now());
    });
    phone.sync().await;
    assert!(!phone.ephemeral.is_empty(), "the phone is told of the undone edit");
    let restored = read(&phone).message(adviser_message).cloned().unwrap();
    assert_eq!(restored.text.as_deref(), Some("Bonjour, comment avance le CV ?"));
    assert!(restored.edited_at.is_none());
    assert!(adviser.wait_until(Duration::from_secs(5), |p| read(p).notices.len() == 1).await);
    assert_eq!(
        read(&adviser).message(adviser_message).unwrap().text.as_deref(),
        Some("Bonjour, comment avance le CV ?")
    );

    // Nobody else syncs it; a transfer takes it away from the old adviser's open session.
    for token in [&k.b, &k.sup] {
        let mut outsider = Peer::connect(addr, token, "outsider", id, replica(w.y1)).await;
        outsider.sync().await;
        assert_eq!(outsider.unavailable, [id]);
        assert!(read(&outsider).messages.is_empty());
    }
    let body = json!({"young_person_ids": [w.y1], "to_adviser_id": w.b, "kind": "definitive"});
    assert_eq!(t.post("/api/v1/transfers", &k.sup, body).await.status, StatusCode::OK);
    assert!(adviser.wait_until(Duration::from_secs(5), |p| p.unavailable.contains(&id)).await);
    let mut newcomer = Peer::connect(addr, &k.b, "browser-b", id, replica(w.y1)).await;
    newcomer.sync().await;
    let history = read(&newcomer);
    assert!(history.message(sent).is_some(), "the new adviser reads the history");
    assert_eq!(history.messages.iter().filter(|m| m.kind == sync_core::conversation::MessageKind::System).count(), 1);
}

async fn the_conversation_syncs_over_http(db: &TestDb) {
    let t = db.app().await;
    let w = world(&t).await;
    let k = tokens(&t).await;
    let me = t.get("/api/v1/me", &k.y1).await;
    let id = me.body["conversation_document_id"].as_str().unwrap().to_owned();
    let mut doc = ConversationDocument::genesis(w.y1).unwrap();
    doc.set_actor(automerge::ActorId::random());
    let sent = Uuid::new_v4();
    let new = NewMessage { id: Some(sent), text: "Envoyé en arrière-plan".into(), reference: None };
    doc.send_message(&Author::young_person(w.y1), chrono::Utc::now(), new).unwrap();
    let document: DocumentId = id.parse().unwrap();
    let mut state = automerge::sync::State::new();
    for _ in 0..10 {
        let Some(message) = doc.automerge_mut().sync().generate_sync_message(&mut state) else { break };
        let (status, answer) = http_sync_as(&t, document, &k.y1, "background", message.encode()).await;
        if status == StatusCode::NO_CONTENT {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        let answer = automerge::sync::Message::decode(&answer).unwrap();
        doc.automerge_mut().sync().receive_sync_message(&mut state, answer).unwrap();
    }
    let read = t.get(&conversation(w.y1), &k.a).await;
    assert_eq!(read.body["messages"][0]["id"], json!(sent));
    assert_eq!(http_sync_as(&t, document, &k.sup, "sup", Vec::new()).await.0, StatusCode::NOT_FOUND);
}

on_both_backends!(
    the_conversation_syncs_live_and_forgeries_are_undone,
    the_conversation_syncs_over_http,
    participants_write_and_nobody_else_reads,
    a_transfer_hands_the_history_over_and_says_so_once,
    a_message_is_pushed_without_its_text,
    unread_counts_follow_the_read_markers,
    the_search_finds_french_words,
    a_broadcast_sends_one_copy_to_each_followed_young_person,
    the_important_message_is_the_advisers,
    the_conversation_goes_with_the_account,
);
