//! `--history N`: a plan that starts with N changes of history, made through sync-core's typed
//! edit API by the young person, deterministically (ids, actor and instants come from the plan's
//! index): in blocks of 20 changes, an action is created, edited 12 times (title, description, due
//! date in turn), commented on 5 times, started, then done.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sync_core::edit::{ActionPatch, NewAction};
use sync_core::model::{ActionCategory, ActionStatus};
use sync_core::schema::Collection;
use sync_core::{Author, PlanDocument};
use uuid::Uuid;

const CATEGORIES: [ActionCategory; 4] =
    [ActionCategory::Emploi, ActionCategory::Formation, ActionCategory::Logement, ActionCategory::ProjetProfessionnel];

/// The saved plan: genesis then `changes` changes (exactly: one change per edit).
pub fn build(young_person_id: Uuid, changes: usize, index: u64) -> anyhow::Result<Vec<u8>> {
    let mut doc = PlanDocument::genesis(young_person_id)?;
    if changes == 0 {
        return Ok(doc.save());
    }
    doc.set_actor(automerge::ActorId::from(Uuid::from_u64_pair(0x4849_5354_4f52_5900, index).as_bytes().as_slice()));
    let author = Author::young_person(young_person_id);
    let start: DateTime<Utc> = Utc.with_ymd_and_hms(2025, 9, 1, 8, 0, 0).single().unwrap_or_else(Utc::now);
    let id = |n: u64| Uuid::from_u64_pair(index, n);
    let mut action = id(0);
    let mut made = 0usize;
    let mut n = 0u64;
    while made < changes {
        let now = start + Duration::minutes(n as i64 * 7);
        let block = n / 20;
        let outcome = match n % 20 {
            0 => {
                action = id(block << 8);
                let new = NewAction {
                    id: Some(action),
                    title: format!("Démarche n° {block} : candidature"),
                    category: Some(CATEGORIES[block as usize % CATEGORIES.len()]),
                    description: Some("Préparer le CV et la lettre de motivation".into()),
                    due_date: Some(now.date_naive() + Duration::days(14)),
                    status: None,
                    reminder: None,
                };
                doc.create_action(&author, now, new)?
            }
            k @ 1..=12 => {
                let patch = match k % 3 {
                    0 => ActionPatch {
                        title: Some(format!("Démarche n° {block} : relance {k}")),
                        ..Default::default()
                    },
                    1 => ActionPatch {
                        description: Some(Some(format!("Appeler le recruteur, tentative {k}"))),
                        ..Default::default()
                    },
                    _ => ActionPatch {
                        due_date: Some(Some(now.date_naive() + Duration::days(7 + k as i64))),
                        ..Default::default()
                    },
                };
                doc.update_action(&author, now, action, patch)?
            }
            k @ 13..=17 => {
                let text = format!("Point d'étape {k} : entretien téléphonique prévu");
                doc.add_comment(&author, now, Collection::Actions, action, Some(id((block << 8) | k)), text)?.1
            }
            18 => doc.update_action(
                &author,
                now,
                action,
                ActionPatch { status: Some(ActionStatus::InProgress), ..Default::default() },
            )?,
            _ => doc.complete_action(&author, now, action)?,
        };
        n += 1;
        if outcome.change.is_some() {
            made += 1;
        }
    }
    Ok(doc.save())
}

/// `build` for many plans, on every core this process may use.
pub fn build_all(plans: &[Uuid], changes: usize) -> anyhow::Result<Vec<Vec<u8>>> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(plans.len().max(1));
    let chunk = plans.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = plans
            .chunks(chunk)
            .enumerate()
            .map(|(c, ids)| {
                s.spawn(move || -> anyhow::Result<Vec<Vec<u8>>> {
                    ids.iter().enumerate().map(|(i, id)| build(*id, changes, (c * chunk + i) as u64)).collect()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(plans.len());
        for h in handles {
            out.extend(h.join().map_err(|_| anyhow::anyhow!("history thread panicked"))??);
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_has_exactly_the_changes_asked_and_is_deterministic() {
        let yp = Uuid::from_u128(42);
        let a = build(yp, 45, 3).expect("history");
        let b = build(yp, 45, 3).expect("history");
        assert_eq!(a, b);
        let mut doc = PlanDocument::load(&a).expect("load");
        assert_eq!(doc.automerge_mut().get_changes(&[]).len(), 46); // genesis + 45
        let plan = doc.plan();
        assert_eq!(plan.actions.len(), 3);
        assert!(plan.unreadable.is_empty());
        assert_eq!(plan.actions.iter().filter(|a| a.status == ActionStatus::Done).count(), 2);
    }
}
