//! Seeds our server's database directly through its store: a structure, advisers, young people
//! with their plan's genesis snapshot, and access tokens (stored as their SHA-256 like the
//! service does), so 1,000 people take seconds instead of an argon2 hash each.

use std::path::Path;

use chrono::{Duration, Utc};
use server::auth::tokens::{hash_token, new_token};
use server::store::{self, NewUser};
use sync_core::model::Role;
use sync_core::{DocumentId, PlanDocument};
use uuid::Uuid;

pub struct SeededPlan {
    pub young_person_id: Uuid,
    pub document_id: DocumentId,
    pub token: String,
}

pub struct SeededAdviser {
    pub token: String,
    /// Indices into the plans.
    pub plans: Vec<usize>,
}

fn user(id: Uuid, role: Role, email: String, structure_id: Uuid) -> NewUser {
    NewUser {
        id,
        role,
        email,
        password_hash: None,
        first_name: "Charge".into(),
        last_name: format!("{}", id.simple()),
        timezone: "Europe/Paris".into(),
        structure_id: Some(structure_id),
        activation_code_hash: None,
        activation_expires_at: None,
    }
}

/// `phones` young people, one adviser per `portfolio` of them.
pub async fn seed(
    database_url: Option<&str>,
    data_dir: &Path,
    phones: usize,
    portfolio: usize,
) -> anyhow::Result<(Vec<SeededPlan>, Vec<SeededAdviser>)> {
    let store = store::open(database_url, data_dir).await?;
    let now = Utc::now();
    let expires = now + Duration::days(1);
    let structure = Uuid::new_v4();
    store.create_structure(structure, &format!("Mission Locale de charge {}", structure.simple()), now).await?;
    let mut plans = Vec::with_capacity(phones);
    let mut advisers = Vec::new();
    for chunk_start in (0..phones).step_by(portfolio.max(1)) {
        let adviser_id = Uuid::new_v4();
        let email = format!("conseiller.{}@charge.example.org", adviser_id.simple());
        store.create_user(&user(adviser_id, Role::Adviser, email, structure), now).await?;
        let token = new_token();
        store.insert_access_token(&hash_token(&token), adviser_id, Uuid::new_v4(), expires).await?;
        let end = (chunk_start + portfolio.max(1)).min(phones);
        for _ in chunk_start..end {
            let id = Uuid::new_v4();
            let document_id = DocumentId::new_random();
            let email = format!("jeune.{}@charge.example.org", id.simple());
            let snapshot = PlanDocument::genesis(id)?.save();
            store
                .create_young_person(
                    &user(id, Role::YoungPerson, email, structure),
                    Some(adviser_id),
                    &document_id.to_string(),
                    &snapshot,
                    now,
                )
                .await?;
            let token = new_token();
            store.insert_access_token(&hash_token(&token), id, Uuid::new_v4(), expires).await?;
            plans.push(SeededPlan { young_person_id: id, document_id, token });
        }
        advisers.push(SeededAdviser { token, plans: (chunk_start..end).collect() });
    }
    Ok((plans, advisers))
}
