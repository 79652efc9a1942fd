#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The conversation's rule table: one row per message operation, for every role, allowed or
//! refused with the reason code written here by hand. Each operation runs twice: on a replica
//! through the typed API (the phone's or the web app's check) and, as raw writes, through the
//! server's review, and both must give the row's answer.

use crate::common::t0;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sync_core::conversation::rules::Target;
use sync_core::conversation::{ConversationDocument, NewImportant, NewMessage, compensate, review};
use sync_core::model::{Person, Role, instant_node};
use sync_core::node::Node;
use sync_core::{Author, EditError};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    YoungPerson,
    OtherYoungPerson,
    /// The adviser of their portfolio.
    Adviser,
    /// An adviser they are temporarily transferred to.
    TemporaryAdviser,
    OtherAdviser,
    /// A supervisor of the structure: reads the plan, never the conversation.
    Supervisor,
    Admin,
}

const EVERYONE: [Who; 7] = [
    Who::YoungPerson,
    Who::OtherYoungPerson,
    Who::Adviser,
    Who::TemporaryAdviser,
    Who::OtherAdviser,
    Who::Supervisor,
    Who::Admin,
];

struct Fixture {
    doc: ConversationDocument,
    young_person: Uuid,
    adviser: Uuid,
    temporary: Uuid,
    /// Sent by the young person.
    from_young_person: Uuid,
    /// Sent by the portfolio's adviser.
    from_adviser: Uuid,
    /// Sent by the temporary adviser.
    from_temporary: Uuid,
    /// Sent, then deleted, by each of the three.
    deleted: [Uuid; 3],
    now: DateTime<Utc>,
}

impl Fixture {
    fn new() -> Fixture {
        let (young_person, adviser, temporary) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut doc = ConversationDocument::genesis(young_person).unwrap();
        let now = t0();
        let from_young_person =
            doc.send_message(&Author::young_person(young_person), now, text("Bonjour, j'ai une question")).unwrap().id;
        let from_adviser =
            doc.send_message(&Author::adviser(adviser), now, text("Bonjour, je vous écoute")).unwrap().id;
        let from_temporary =
            doc.send_message(&Author::new(temporary, Role::Adviser, true), now, text("Je remplace Karim")).unwrap().id;
        let authors =
            [Author::young_person(young_person), Author::adviser(adviser), Author::new(temporary, Role::Adviser, true)];
        let deleted = authors.map(|a| {
            let id = doc.send_message(&a, now, text("Oups")).unwrap().id;
            doc.delete_message(&a, now, id).unwrap();
            id
        });
        Fixture {
            doc,
            young_person,
            adviser,
            temporary,
            from_young_person,
            from_adviser,
            from_temporary,
            deleted,
            now: now + Duration::hours(1),
        }
    }

    /// A message `author` sent (the young person's for those who take no part).
    fn own(&self, author: &Author) -> Uuid {
        match author.user_id {
            id if id == self.adviser => self.from_adviser,
            id if id == self.temporary => self.from_temporary,
            _ => self.from_young_person,
        }
    }

    /// A message `author` sent and deleted.
    fn own_deleted(&self, author: &Author) -> Uuid {
        match author.user_id {
            id if id == self.adviser => self.deleted[1],
            id if id == self.temporary => self.deleted[2],
            _ => self.deleted[0],
        }
    }

    fn author(&self, who: Who) -> Author {
        match who {
            Who::YoungPerson => Author::young_person(self.young_person),
            Who::OtherYoungPerson => Author::young_person(Uuid::new_v4()),
            Who::Adviser => Author::adviser(self.adviser),
            Who::TemporaryAdviser => Author::new(self.temporary, Role::Adviser, true),
            Who::OtherAdviser => Author::new(Uuid::new_v4(), Role::Adviser, false),
            Who::Supervisor => Author::new(Uuid::new_v4(), Role::Supervisor, false),
            Who::Admin => Author::new(Uuid::new_v4(), Role::Admin, false),
        }
    }

    /// A message of somebody else than `author`.
    fn someone_elses(&self, author: &Author) -> Uuid {
        if author.user_id == self.young_person { self.from_adviser } else { self.from_young_person }
    }
}

fn text(t: &str) -> NewMessage {
    NewMessage { id: None, text: t.into(), reference: None }
}

fn code(e: EditError) -> &'static str {
    match e {
        EditError::Refused(reasons) => reasons[0].code(),
        EditError::NotFound(_) => "not_found",
        EditError::Document(_) => "document",
    }
}

/// An operation as the typed API makes it, on the author's replica.
type Typed = fn(&mut Fixture, &Author) -> Result<(), &'static str>;
/// The same as raw writes: the target and value to write into the author's replica.
type Raw = fn(&Fixture, &Author) -> Vec<(Target, Option<Node>)>;

struct Row {
    name: &'static str,
    typed: Option<Typed>,
    raw: Raw,
    young_person: Result<(), &'static str>,
    /// The portfolio's adviser and the temporary one.
    advisers: Result<(), &'static str>,
}

fn message_node(id: Uuid, author: &Author, sent_at: DateTime<Utc>, body: Option<&str>) -> Node {
    Node::map()
        .with("id", Node::from(id.to_string()))
        .with("author", Person { id: author.user_id, role: author.role }.to_node())
        .with("sent_at", instant_node(sent_at))
        .with("kind", Node::from(if author.role == Role::System { "system" } else { "message" }))
        .with("text", body.map(Node::from))
}

fn field(id: Uuid, name: &str) -> Target {
    Target::MessageField { id: id.to_string(), field: name.into() }
}

fn important_node(author: &Author, at: DateTime<Utc>, starts: &str, ends: &str) -> Node {
    Node::map()
        .with("id", Node::from(Uuid::new_v4().to_string()))
        .with("author", Person { id: author.user_id, role: author.role }.to_node())
        .with("text", Node::from("Atelier CV jeudi à 14 h"))
        .with("starts_on", Node::from(starts))
        .with("ends_on", Node::from(ends))
        .with("at", instant_node(at))
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            name: "send a message",
            typed: Some(|f, a| f.doc.send_message(a, f.now, text("Merci !")).map(drop).map_err(code)),
            raw: |f, a| {
                let id = Uuid::new_v4();
                vec![(Target::Message { id: id.to_string() }, Some(message_node(id, a, f.now, Some("Merci !"))))]
            },
            young_person: Ok(()),
            advisers: Ok(()),
        },
        Row {
            name: "send 5,000 characters",
            typed: Some(|f, a| f.doc.send_message(a, f.now, text(&"é".repeat(5_000))).map(drop).map_err(code)),
            raw: |f, a| {
                let id = Uuid::new_v4();
                let body = "é".repeat(5_000);
                vec![(Target::Message { id: id.to_string() }, Some(message_node(id, a, f.now, Some(&body))))]
            },
            young_person: Ok(()),
            advisers: Ok(()),
        },
        Row {
            name: "send 5,001 characters",
            typed: Some(|f, a| f.doc.send_message(a, f.now, text(&"é".repeat(5_001))).map(drop).map_err(code)),
            raw: |f, a| {
                let id = Uuid::new_v4();
                let body = "é".repeat(5_001);
                vec![(Target::Message { id: id.to_string() }, Some(message_node(id, a, f.now, Some(&body))))]
            },
            young_person: Err("too_long"),
            advisers: Err("too_long"),
        },
        Row {
            name: "send an empty message",
            typed: Some(|f, a| f.doc.send_message(a, f.now, text("  ")).map(drop).map_err(code)),
            raw: |f, a| {
                let id = Uuid::new_v4();
                vec![(Target::Message { id: id.to_string() }, Some(message_node(id, a, f.now, Some(""))))]
            },
            young_person: Err("empty"),
            advisers: Err("empty"),
        },
        Row {
            name: "send as somebody else",
            typed: None,
            raw: |f, a| {
                let id = Uuid::new_v4();
                let other = Author::young_person(f.someone_elses(a));
                let mut node = message_node(id, a, f.now, Some("Je suis quelqu'un d'autre"));
                node = node.with("author", Person { id: other.user_id, role: Role::Adviser }.to_node());
                vec![(Target::Message { id: id.to_string() }, Some(node))]
            },
            young_person: Err("wrong_author"),
            advisers: Err("wrong_author"),
        },
        Row {
            name: "send with sent_at ten minutes ahead",
            typed: None,
            raw: |f, a| {
                let id = Uuid::new_v4();
                let node = message_node(id, a, f.now + Duration::minutes(10), Some("Du futur"));
                vec![(Target::Message { id: id.to_string() }, Some(node))]
            },
            young_person: Err("in_future"),
            advisers: Err("in_future"),
        },
        Row {
            name: "send with sent_at four minutes ahead (clock skew)",
            typed: None,
            raw: |f, a| {
                let id = Uuid::new_v4();
                let node = message_node(id, a, f.now + Duration::minutes(4), Some("Horloge en avance"));
                vec![(Target::Message { id: id.to_string() }, Some(node))]
            },
            young_person: Ok(()),
            advisers: Ok(()),
        },
        Row {
            name: "write a system message",
            typed: None,
            raw: |f, a| {
                let id = Uuid::new_v4();
                let node = message_node(id, a, f.now, Some("Votre conseiller est désormais …"))
                    .with("kind", Node::from("system"));
                vec![(Target::Message { id: id.to_string() }, Some(node))]
            },
            young_person: Err("invalid"),
            advisers: Err("invalid"),
        },
        Row {
            name: "edit one's own message",
            typed: Some(|f, a| {
                let id = f.doc.send_message(a, f.now, text("Brouillon")).map_err(code)?.id;
                f.doc.edit_message(a, f.now, id, "Version corrigée").map(drop).map_err(code)
            }),
            raw: |f, a| {
                let own = f.own(a);
                vec![
                    (field(own, "text"), Some(Node::from("Version corrigée"))),
                    (field(own, "edited_at"), Some(instant_node(f.now))),
                ]
            },
            young_person: Ok(()),
            advisers: Ok(()),
        },
        Row {
            name: "edit somebody else's message",
            typed: Some(|f, a| {
                let other = f.someone_elses(a);
                f.doc.edit_message(a, f.now, other, "Réécrit").map(drop).map_err(code)
            }),
            raw: |f, a| {
                let other = f.someone_elses(a);
                vec![
                    (field(other, "text"), Some(Node::from("Réécrit"))),
                    (field(other, "edited_at"), Some(instant_node(f.now))),
                ]
            },
            young_person: Err("not_author"),
            advisers: Err("not_author"),
        },
        Row {
            name: "edit without saying so (no edited_at)",
            typed: None,
            raw: |f, a| {
                let own = f.own(a);
                vec![(field(own, "text"), Some(Node::from("En douce")))]
            },
            young_person: Err("missing"),
            advisers: Err("missing"),
        },
        Row {
            name: "change a message's sent_at",
            typed: None,
            raw: |f, a| {
                let own = f.own(a);
                vec![(field(own, "sent_at"), Some(instant_node(f.now - Duration::days(30))))]
            },
            young_person: Err("immutable"),
            advisers: Err("immutable"),
        },
        Row {
            name: "delete one's own message",
            typed: Some(|f, a| {
                let id = f.doc.send_message(a, f.now, text("Oups")).map_err(code)?.id;
                f.doc.delete_message(a, f.now, id).map(drop).map_err(code)
            }),
            raw: |f, a| {
                let own = f.own(a);
                vec![(field(own, "text"), None), (field(own, "deleted_at"), Some(instant_node(f.now)))]
            },
            young_person: Ok(()),
            advisers: Ok(()),
        },
        Row {
            name: "delete somebody else's message",
            typed: Some(|f, a| {
                let other = f.someone_elses(a);
                f.doc.delete_message(a, f.now, other).map(drop).map_err(code)
            }),
            raw: |f, a| {
                let other = f.someone_elses(a);
                vec![(field(other, "text"), None), (field(other, "deleted_at"), Some(instant_node(f.now)))]
            },
            young_person: Err("not_author"),
            advisers: Err("not_author"),
        },
        Row {
            name: "edit a deleted message",
            typed: Some(|f, a| {
                let id = f.doc.send_message(a, f.now, text("Oups")).map_err(code)?.id;
                f.doc.delete_message(a, f.now, id).map_err(code)?;
                f.doc.edit_message(a, f.now, id, "Revenu").map(drop).map_err(code)
            }),
            raw: |f, a| {
                let id = f.own_deleted(a);
                vec![
                    (field(id, "text"), Some(Node::from("Revenu"))),
                    (field(id, "edited_at"), Some(instant_node(f.now))),
                ]
            },
            young_person: Err("message_deleted"),
            advisers: Err("message_deleted"),
        },
        Row {
            name: "erase a message from the conversation",
            typed: None,
            raw: |f, a| {
                let own = f.own(a);
                vec![(Target::Message { id: own.to_string() }, None)]
            },
            young_person: Err("not_erasable"),
            advisers: Err("not_erasable"),
        },
        Row {
            name: "mark one's messages read",
            typed: Some(|f, a| f.doc.mark_all_read(a, f.now).map(drop).map_err(code)),
            raw: |f, a| vec![(Target::ReadMarker { user: a.user_id.to_string() }, Some(instant_node(f.now)))],
            young_person: Ok(()),
            advisers: Ok(()),
        },
        Row {
            name: "move somebody else's read marker",
            typed: None,
            raw: |f, a| {
                let other = if a.user_id == f.young_person { f.adviser } else { f.young_person };
                vec![(Target::ReadMarker { user: other.to_string() }, Some(instant_node(f.now)))]
            },
            young_person: Err("wrong_author"),
            advisers: Err("wrong_author"),
        },
        Row {
            name: "pin a « message important »",
            typed: Some(|f, a| {
                let new = NewImportant {
                    text: "Atelier CV jeudi à 14 h".into(),
                    starts_on: day("2026-03-02"),
                    ends_on: day("2026-03-09"),
                };
                f.doc.pin_important(a, f.now, new).map(drop).map_err(code)
            }),
            raw: |f, a| vec![(Target::Important, Some(important_node(a, f.now, "2026-03-02", "2026-03-09")))],
            young_person: Err("not_allowed"),
            advisers: Ok(()),
        },
        Row {
            name: "pin a « message important » that ends before it starts",
            typed: Some(|f, a| {
                let new = NewImportant {
                    text: "À l'envers".into(),
                    starts_on: day("2026-03-09"),
                    ends_on: day("2026-03-02"),
                };
                f.doc.pin_important(a, f.now, new).map(drop).map_err(code)
            }),
            raw: |f, a| vec![(Target::Important, Some(important_node(a, f.now, "2026-03-09", "2026-03-02")))],
            young_person: Err("not_allowed"),
            advisers: Err("bad_period"),
        },
        Row {
            name: "change the conversation's owner",
            typed: None,
            raw: |_, _| {
                vec![(Target::Root { key: "young_person_id".into() }, Some(Node::from(Uuid::new_v4().to_string())))]
            },
            young_person: Err("not_allowed"),
            advisers: Err("not_allowed"),
        },
        Row {
            name: "write a notice",
            typed: None,
            raw: |f, a| {
                let notice =
                    sync_core::model::Notice { id: Uuid::new_v4(), for_user: a.user_id, at: f.now, reasons: vec![] };
                vec![(Target::Notice { id: notice.id.to_string() }, Some(notice.to_node()))]
            },
            young_person: Err("not_allowed"),
            advisers: Err("not_allowed"),
        },
    ]
}

fn expected(row: &Row, who: Who) -> Result<(), &'static str> {
    match who {
        Who::YoungPerson => row.young_person,
        Who::Adviser | Who::TemporaryAdviser => row.advisers,
        _ => Err("no_access"),
    }
}

/// The raw writes on a replica, merged into the server's copy and reviewed there: the first
/// refusal's code, and the server's copy compensated.
fn through_review(
    f: &mut Fixture,
    author: &Author,
    writes: &[(Target, Option<Node>)],
) -> (Result<(), &'static str>, ConversationDocument) {
    let mut server = f.doc.fork();
    let before = server.heads();
    let mut replica = f.doc.fork();
    for (target, value) in writes {
        replica.write_target(target, value.as_ref()).unwrap();
    }
    replica.commit("raw", f.now);
    server.load_incremental(&replica.save()).unwrap();
    let reviewed = review(&mut server, &before, author, f.now);
    let outcome = match reviewed.refusals().next() {
        Some(v) => Err(v.refusal.as_ref().unwrap().code()),
        None => Ok(()),
    };
    compensate(&mut server, &reviewed, author, f.now).unwrap();
    (outcome, server)
}

#[test]
fn every_role_gets_the_answer_of_the_table() {
    let mut failures = Vec::new();
    for row in rows() {
        for who in EVERYONE {
            let want = expected(&row, who);
            if let Some(typed) = row.typed {
                let mut f = Fixture::new();
                let author = f.author(who);
                let got = typed(&mut f, &author);
                if got != want {
                    failures.push(format!("typed « {} » as {who:?}: got {got:?}, want {want:?}", row.name));
                }
            }
            let mut f = Fixture::new();
            let author = f.author(who);
            let writes = (row.raw)(&f, &author);
            let (got, _) = through_review(&mut f, &author, &writes);
            if got != want {
                failures.push(format!("reviewed « {} » as {who:?}: got {got:?}, want {want:?}", row.name));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn a_refused_raw_write_is_put_back_and_the_rest_kept() {
    for row in rows() {
        for who in EVERYONE {
            let mut f = Fixture::new();
            let author = f.author(who);
            let before = f.doc.conversation();
            let writes = (row.raw)(&f, &author);
            let (outcome, server) = through_review(&mut f, &author, &writes);
            let after = server.conversation();
            if outcome.is_err() {
                // Everything refused here is one effect or a pair valid only together: the
                // conversation is back to what it was, plus a notice for the author.
                assert_eq!(after.messages, before.messages, "« {} » as {who:?}", row.name);
                assert_eq!(after.read_markers, before.read_markers, "« {} » as {who:?}", row.name);
                assert_eq!(after.important, before.important, "« {} » as {who:?}", row.name);
                assert_eq!(after.notices.len(), 1, "« {} » as {who:?}: one notice", row.name);
                assert_eq!(after.notices[0].for_user, author.user_id);
            } else {
                assert!(after.notices.is_empty(), "« {} » as {who:?}: nothing undone", row.name);
            }
        }
    }
}

#[test]
fn the_server_posts_system_messages_nobody_may_edit() {
    let mut f = Fixture::new();
    let id = Uuid::new_v4();
    let posted = f.doc.post_system_message(id, f.now, "Votre conseiller est désormais Karim Mansouri").unwrap();
    assert!(posted.change.is_some());
    assert!(
        f.doc.post_system_message(id, f.now, "Votre conseiller est désormais Karim Mansouri").unwrap().change.is_none()
    );
    for who in [Who::YoungPerson, Who::Adviser] {
        let author = f.author(who);
        assert_eq!(f.doc.edit_message(&author, f.now, id, "Non").map(drop).map_err(code), Err("not_author"));
    }
    let message = f.doc.message(id).unwrap();
    assert_eq!(message.kind, sync_core::conversation::MessageKind::System);
    assert_eq!(message.author.role, Role::System);
}

#[test]
fn a_retried_send_never_duplicates() {
    let mut f = Fixture::new();
    let author = Author::young_person(f.young_person);
    let id = Uuid::new_v4();
    let first = f
        .doc
        .send_message(&author, f.now, NewMessage { id: Some(id), text: "Une fois".into(), reference: None })
        .unwrap();
    let again = f
        .doc
        .send_message(&author, f.now, NewMessage { id: Some(id), text: "Une fois".into(), reference: None })
        .unwrap();
    assert!(first.change.is_some());
    assert!(again.change.is_none() && again.events.is_empty());
    assert_eq!(f.doc.conversation().messages.iter().filter(|m| m.id == id).count(), 1);
    assert!(matches!(first.events[0].kind, sync_core::EventKind::MessageSent { message_id, .. } if message_id == id));
}
