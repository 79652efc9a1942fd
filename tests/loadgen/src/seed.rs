//! Seeds our server's database directly through its store: a structure, advisers, young people
//! with their plan's genesis snapshot, and access tokens (stored as their SHA-256 like the
//! service does), so 1,000 people take seconds instead of an argon2 hash each. A plan's first
//! snapshot is whatever the caller gives (its genesis, or genesis and `--history` changes).

use std::path::Path;

use chrono::{Duration, Utc};
use futures_util::{StreamExt, TryStreamExt};
use server::auth::tokens::{hash_token, new_token};
use server::store::{self, NewUser};
use sync_core::DocumentId;
use sync_core::model::Role;
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

/// One young person per `(id, snapshot)`, one adviser per `portfolio` of them; each young
/// person gets an access token when `tokens` (the touch mode reaches plans through advisers only).
pub async fn seed(
    database_url: Option<&str>,
    data_dir: &Path,
    young: Vec<(Uuid, Vec<u8>)>,
    portfolio: usize,
    tokens: bool,
) -> anyhow::Result<(Vec<SeededPlan>, Vec<SeededAdviser>)> {
    let store = store::open(database_url, data_dir).await?;
    let now = Utc::now();
    let expires = now + Duration::days(1);
    let structure = Uuid::new_v4();
    store.create_structure(structure, &format!("Mission Locale de charge {}", structure.simple()), now).await?;
    let phones = young.len();
    let mut advisers = Vec::new();
    let mut adviser_of = Vec::with_capacity(phones);
    for chunk_start in (0..phones).step_by(portfolio.max(1)) {
        let adviser_id = Uuid::new_v4();
        let email = format!("conseiller.{}@charge.example.org", adviser_id.simple());
        store.create_user(&user(adviser_id, Role::Adviser, email, structure), now).await?;
        let token = new_token();
        store.insert_access_token(&hash_token(&token), adviser_id, Uuid::new_v4(), expires).await?;
        let end = (chunk_start + portfolio.max(1)).min(phones);
        adviser_of.extend(std::iter::repeat_n(adviser_id, end - chunk_start));
        advisers.push(SeededAdviser { token, plans: (chunk_start..end).collect() });
    }
    // SQLite commits one transaction at a time: concurrent ones would only wait in its busy
    // handler's sleeps (5,000 plans took 34 s with 8 in flight). PostgreSQL takes a few at once.
    let in_flight = if database_url.is_some() { 8 } else { 1 };
    let plans: Vec<SeededPlan> = futures_util::stream::iter(young.into_iter().zip(adviser_of))
        .map(|((id, snapshot), adviser_id)| {
            let store = store.clone();
            async move {
                let document_id = DocumentId::new_random();
                let email = format!("jeune.{}@charge.example.org", id.simple());
                store
                    .create_young_person(
                        &user(id, Role::YoungPerson, email, structure),
                        Some(adviser_id),
                        &document_id.to_string(),
                        &snapshot,
                        now,
                    )
                    .await?;
                let token = if tokens {
                    let token = new_token();
                    store.insert_access_token(&hash_token(&token), id, Uuid::new_v4(), expires).await?;
                    token
                } else {
                    String::new()
                };
                anyhow::Ok(SeededPlan { young_person_id: id, document_id, token })
            }
        })
        .buffered(in_flight)
        .try_collect()
        .await?;
    Ok((plans, advisers))
}
