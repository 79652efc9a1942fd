//! One input of the `document_load` fuzz target, shared with its replay test
//! (`sync-core/tests/integration/bad_input.rs`): any bytes load as a plan or fail with an error, never a
//! panic; a loaded plan reads, and what it saves loads again.

use sync_core::PlanDocument;

pub fn one_document(bytes: &[u8]) {
    let Ok(mut doc) = PlanDocument::load(bytes) else { return };
    let plan = doc.plan();
    let _ = doc.young_person_id();
    let _ = doc.heads();
    let saved = doc.save();
    let again = PlanDocument::load(&saved).expect("a loaded plan's save loads again");
    assert_eq!(again.plan(), plan, "a saved plan reads the same");
}
