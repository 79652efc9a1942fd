#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Documents that are not what they should be: unknown keys, wrong types, missing fields, future
//! or missing schema, garbage bytes. Read with a clear error or the documented fallback, never a panic.

use crate::common;

use std::collections::BTreeMap;

use automerge::{AutoCommit, ObjType, ROOT, ScalarValue, transaction::Transactable};
use common::Fixture;
use proptest::prelude::*;
use sync_core::document::DocumentError;
use sync_core::node::Node;
use sync_core::rules::{RuleContext, check_entity};
use sync_core::schema::{Collection, SCHEMA_VERSION};
use sync_core::{Author, PlanDocument, Target};

fn write(doc: &mut PlanDocument, target: Target, node: Node) {
    doc.write_target(&target, Some(&node)).unwrap();
    doc.commit("raw", common::t0());
}

#[test]
fn unknown_keys_are_ignored_when_reading() {
    let mut f = Fixture::new();
    write(&mut f.doc, Target::Root { key: "from_the_future".into() }, Node::from("x"));
    let open = f.open_action.to_string();
    write(
        &mut f.doc,
        Target::Field { collection: Collection::Actions, id: open, field: "emoji".into() },
        Node::from("🙂"),
    );
    let plan = f.doc.plan();
    assert!(plan.unreadable.is_empty());
    assert_eq!(plan.actions.len(), 4);
}

#[test]
fn an_entity_with_a_wrong_type_is_reported_and_the_others_still_read() {
    let mut f = Fixture::new();
    let id = f.open_action.to_string();
    write(
        &mut f.doc,
        Target::Field { collection: Collection::Actions, id: id.clone(), field: "title".into() },
        Node::Int(3),
    );
    let plan = f.doc.plan();
    assert_eq!(plan.actions.len(), 3);
    assert_eq!(plan.unreadable.len(), 1);
    assert_eq!(plan.unreadable[0].entity, format!("actions/{id}"));
    assert_eq!(plan.unreadable[0].field, "title");
    assert_eq!(plan.unreadable[0].to_string(), format!("actions/{id}: champ « title » n'est pas un texte"));
}

#[test]
fn an_entity_with_a_missing_field_is_reported() {
    let mut f = Fixture::new();
    let target = Target::Entity { collection: Collection::Tasks, id: "not-even-a-uuid".into() };
    write(&mut f.doc, target, Node::map().with("title", Node::from("Sans le reste")));
    let plan = f.doc.plan();
    assert_eq!(plan.tasks.len(), 1);
    assert_eq!(plan.unreadable.len(), 1);
    assert_eq!(plan.unreadable[0].problem, "manquant");
}

#[test]
fn a_collection_of_the_wrong_type_reads_as_empty() {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "schema", SCHEMA_VERSION).unwrap();
    doc.put(ROOT, "actions", "not a map").unwrap();
    let plan = PlanDocument::from_automerge(doc).plan();
    assert!(plan.actions.is_empty());
}

#[test]
fn a_future_schema_is_a_clear_error() {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "schema", SCHEMA_VERSION + 1).unwrap();
    let bytes = doc.save();
    match PlanDocument::load(&bytes) {
        Err(e @ DocumentError::FutureSchema { .. }) => {
            assert_eq!(e.to_string(), "le document suit le schéma 2, plus récent que le schéma 1 connu ici")
        }
        other => panic!("expected FutureSchema, got {other:?}"),
    }
}

#[test]
fn a_schema_that_is_not_a_number_is_a_clear_error() {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "schema", "one").unwrap();
    assert!(matches!(PlanDocument::load(&doc.save()), Err(DocumentError::BadSchema)));
}

#[test]
fn an_unversioned_document_is_migrated_forward() {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "young_person_id", uuid::Uuid::new_v4().to_string()).unwrap();
    doc.put_object(ROOT, "actions", ObjType::Map).unwrap();
    let mut plan = PlanDocument::load(&doc.save()).unwrap();
    assert_eq!(plan.schema_version().unwrap(), 0);
    assert!(plan.migrate().unwrap());
    assert_eq!(plan.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(!plan.migrate().unwrap(), "migrating twice changes nothing");
    // The collections it lacked exist now, so edits work.
    let yp = Author::young_person(plan.young_person_id().unwrap());
    plan.create_task(&yp, common::t0(), common::task("Candidature")).unwrap();
}

#[test]
fn odd_scalars_survive_reading() {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "schema", ScalarValue::Uint(1)).unwrap();
    doc.put(ROOT, "counter", ScalarValue::counter(3)).unwrap();
    doc.put(ROOT, "bytes", ScalarValue::Bytes(vec![1, 2])).unwrap();
    let plan = PlanDocument::load(&doc.save()).unwrap();
    assert_eq!(plan.schema_version().unwrap(), 1);
}

fn arbitrary_node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        Just(Node::Null),
        any::<bool>().prop_map(Node::Bool),
        any::<i64>().prop_map(Node::Int),
        any::<f64>().prop_map(Node::F64),
        "[a-zA-Z0-9:_ -]{0,24}".prop_map(Node::Str),
        "[a-zA-Z0-9:_ -]{0,24}".prop_map(Node::Text),
        prop_oneof![
            Just("2026-03-02T09:00:00Z".to_owned()),
            Just("2026-02-30".to_owned()),
            Just("00000000-0000-0000-0000-000000000001".to_owned()),
            Just("done".to_owned()),
            Just("EMPLOI".to_owned()),
        ]
        .prop_map(Node::Str),
    ];
    let keys = prop_oneof![
        Just("id".to_owned()),
        Just("title".to_owned()),
        Just("status".to_owned()),
        Just("completed_at".to_owned()),
        Just("comments".to_owned()),
        Just("qualification".to_owned()),
        Just("created_by".to_owned()),
        Just("starts_at".to_owned()),
        "[a-z_]{1,8}",
    ];
    leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            proptest::collection::btree_map(keys.clone(), inner.clone(), 0..6)
                .prop_map(|m: BTreeMap<_, _>| Node::Map(m)),
            proptest::collection::vec(inner, 0..4).prop_map(Node::List),
        ]
    })
}

proptest! {
    #[test]
    fn loading_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = PlanDocument::load(&bytes);
    }

    #[test]
    fn any_entity_is_checked_and_read_without_panicking(before in arbitrary_node(), after in arbitrary_node()) {
        let young_person = uuid::Uuid::from_u128(1);
        let ctx = RuleContext { young_person_id: Some(young_person), now: common::t0() };
        for author in [Author::young_person(young_person), Author::adviser(uuid::Uuid::from_u128(2))] {
            for collection in Collection::ALL {
                let _ = check_entity(&ctx, &author, collection, "00000000-0000-0000-0000-000000000001", Some(&before), Some(&after));
                let _ = check_entity(&ctx, &author, collection, "x", None, Some(&after));
            }
        }
        let mut doc = PlanDocument::genesis(young_person).unwrap();
        for collection in Collection::ALL {
            let target = Target::Entity { collection, id: "e".into() };
            doc.write_target(&target, Some(&after)).unwrap();
        }
        doc.commit("arbitrary", common::t0());
        let plan = doc.plan();
        prop_assert!(plan.unreadable.len() <= 4);
    }
}

use crate::fuzz_corpus;
use crate::fuzz_load;

/// The `document_load` fuzz target's corpus and reproducers, through the target's own function.
#[test]
fn document_load_fuzz_corpus_replays() {
    let count = fuzz_corpus::replay("document_load", fuzz_load::one_document);
    assert!(count > 3, "the corpus is there ({count} inputs)");
}
