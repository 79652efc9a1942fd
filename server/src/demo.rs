//! `serve --demo`: on an empty database, a Mission Locale with a supervisor, two advisers and a
//! dozen young people whose plans look like real ones.

use chrono::{Duration, Utc};
use sync_core::edit::{ActionPatch, NewAction, NewAppointment, NewTask};
use sync_core::model::{
    ActionCategory, ActionStatus, AppointmentKind, AppointmentResponse, Modality, Presence, QualificationCode, Role,
    TaskKind, TaskStatus,
};
use sync_core::schema::Collection;
use sync_core::{Author, DocumentId, PlanDocument};
use uuid::Uuid;

use crate::state::AppState;
use crate::store::NewUser;

/// One edit of the demo plans.
type DemoEdit =
    Box<dyn FnOnce(&mut PlanDocument, &Author) -> Result<sync_core::edit::EditOutcome, sync_core::EditError> + Send>;

pub const DEMO_PASSWORD: &str = "demo-pass-emploi";
pub const DEMO_STRUCTURE: &str = "Mission Locale de Lyon";

#[derive(Clone, Debug)]
pub struct Login {
    pub role: Role,
    pub email: String,
    pub name: String,
    pub id: Uuid,
}

const YOUNG_PEOPLE: [(&str, &str); 12] = [
    ("Inès", "Benali"),
    ("Lucas", "Martin"),
    ("Chloé", "Dubois"),
    ("Yanis", "Haddad"),
    ("Manon", "Lefèvre"),
    ("Théo", "Moreau"),
    ("Sarah", "Diallo"),
    ("Hugo", "Garcia"),
    ("Léa", "Nguyen"),
    ("Nathan", "Petit"),
    ("Camille", "Roux"),
    ("Adam", "Fontaine"),
];

fn slug(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' => 'e',
            'ï' | 'î' => 'i',
            'ç' => 'c',
            c => c,
        })
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// Creates a staff account (adviser, supervisor, admin) with a password.
pub async fn create_staff(
    state: &AppState,
    role: Role,
    email: &str,
    first: &str,
    last: &str,
    structure_id: Option<Uuid>,
    password: &str,
) -> anyhow::Result<Uuid> {
    let id = Uuid::new_v4();
    let hash = state.passwords.hash(password.to_owned()).await?;
    state
        .store
        .create_user(
            &NewUser {
                id,
                role,
                email: email.to_owned(),
                password_hash: Some(hash),
                first_name: first.to_owned(),
                last_name: last.to_owned(),
                timezone: "Europe/Paris".into(),
                structure_id,
                activation_code_hash: None,
                activation_expires_at: None,
            },
            Utc::now(),
        )
        .await?;
    Ok(id)
}

/// Creates an activated young person in `adviser_id`'s portfolio, with an empty plan.
pub async fn create_young_person(
    state: &AppState,
    email: &str,
    first: &str,
    last: &str,
    structure_id: Uuid,
    adviser_id: Option<Uuid>,
    password_hash: Option<String>,
) -> anyhow::Result<(Uuid, String)> {
    let id = Uuid::new_v4();
    let mut doc = PlanDocument::genesis(id)?;
    let document_id = DocumentId::new_random().to_string();
    let user = NewUser {
        id,
        role: Role::YoungPerson,
        email: email.to_owned(),
        password_hash,
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        timezone: "Europe/Paris".into(),
        structure_id: Some(structure_id),
        activation_code_hash: None,
        activation_expires_at: None,
    };
    state.store.create_young_person(&user, adviser_id, &document_id, &doc.save(), Utc::now()).await?;
    Ok((id, document_id))
}

/// Fills a plan with a realistic mix: actions in every status (one done and qualified, one late),
/// a past appointment (closed) and a future one, job-search tasks.
pub async fn populate_plan(
    state: &AppState,
    young_person_id: Uuid,
    document_id: &str,
    adviser_id: Uuid,
    variant: usize,
) -> anyhow::Result<()> {
    let adviser = Author::new(adviser_id, Role::Adviser, true);
    let young = Author::young_person(young_person_id);
    let today = Utc::now().date_naive();
    let docs = &state.documents;
    let write = |author: Author, f: DemoEdit| async move {
        docs.write(
            document_id,
            young_person_id,
            author.user_id,
            Utc::now(),
            |doc| f(doc, &author).map(|o| ((), o)),
            |_, _, _| (),
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo write: {e}"))
    };
    let titles = [
        ("Mettre à jour mon CV", ActionCategory::Emploi),
        ("Rendez-vous avec la Mission Locale pour le permis B", ActionCategory::Citoyennete),
        ("Chercher une formation d'aide-soignant", ActionCategory::Formation),
        ("Déposer un dossier de logement au CROUS", ActionCategory::Logement),
        ("Faire un bilan de santé à la CPAM", ActionCategory::Sante),
        ("S'inscrire au club de foot du quartier", ActionCategory::CultureSportLoisirs),
    ];
    let mut ids = Vec::new();
    for (i, (title, category)) in titles.iter().enumerate() {
        let id = Uuid::new_v4();
        ids.push(id);
        let author = if i % 2 == 0 { adviser.clone() } else { young.clone() };
        let new = NewAction {
            id: Some(id),
            title: (*title).to_owned(),
            category: Some(*category),
            description: (i == 0).then(|| "Ajouter le stage chez Boulanger et le BAFA.".to_owned()),
            due_date: Some(today + Duration::days(7 * i as i64 - 10 + variant as i64)),
            status: None,
            reminder: None,
        };
        write(author, Box::new(move |doc, a| doc.create_action(a, Utc::now(), new))).await?;
    }
    let (first, second, third) = (ids[0], ids[1], ids[2]);
    write(young.clone(), Box::new(move |doc, a| doc.complete_action(a, Utc::now(), first))).await?;
    write(
        adviser.clone(),
        Box::new(move |doc, a| {
            doc.qualify_action(a, Utc::now(), first, QualificationCode::Emploi, Some("CV envoyé à 3 employeurs".into()))
        }),
    )
    .await?;
    write(
        young.clone(),
        Box::new(move |doc, a| {
            doc.update_action(
                a,
                Utc::now(),
                second,
                ActionPatch { status: Some(ActionStatus::InProgress), ..Default::default() },
            )
        }),
    )
    .await?;
    write(
        adviser.clone(),
        Box::new(move |doc, a| {
            doc.add_comment(
                a,
                Utc::now(),
                Collection::Actions,
                third,
                None,
                "Regarde l'IFSI de Lyon Sud, inscriptions en mars.".into(),
            )
            .map(|(_, o)| o)
        }),
    )
    .await?;
    let past = Uuid::new_v4();
    let past_new = NewAppointment {
        id: Some(past),
        title: "Entretien de suivi".into(),
        kind: AppointmentKind::EntretienIndividuelConseiller,
        starts_at: Utc::now() - Duration::days(7 + variant as i64),
        duration_minutes: 45,
        modality: Modality::InPerson,
        address: Some("12 rue de la République, 69002 Lyon".into()),
        video_url: None,
        comment: None,
        adviser_present: Some(true),
    };
    write(adviser.clone(), Box::new(move |doc, a| doc.schedule_appointment(a, Utc::now(), past_new))).await?;
    write(adviser.clone(), Box::new(move |doc, a| doc.close_appointment(a, Utc::now(), past, Presence::Present)))
        .await?;
    let future = Uuid::new_v4();
    let future_new = NewAppointment {
        id: Some(future),
        title: "Atelier CV et lettre de motivation".into(),
        kind: AppointmentKind::Atelier,
        starts_at: Utc::now() + Duration::days(3 + variant as i64) + Duration::hours(2),
        duration_minutes: 90,
        modality: Modality::Video,
        address: None,
        video_url: Some("https://visio.example.org/atelier-cv".into()),
        comment: Some("Pensez à apporter votre CV.".into()),
        adviser_present: Some(true),
    };
    write(adviser.clone(), Box::new(move |doc, a| doc.schedule_appointment(a, Utc::now(), future_new))).await?;
    write(
        young.clone(),
        Box::new(move |doc, a| doc.answer_appointment(a, Utc::now(), future, AppointmentResponse::Accepted)),
    )
    .await?;
    let task = Uuid::new_v4();
    let new_task = NewTask {
        id: Some(task),
        kind: TaskKind::Application,
        title: "Candidature vendeur·se en boulangerie".into(),
        company: Some("Boulangerie Paul".into()),
        offer_url: Some("https://candidat.francetravail.fr/offres/recherche/detail/000000".into()),
        due_date: Some(today + Duration::days(5)),
        notes: None,
    };
    write(young.clone(), Box::new(move |doc, a| doc.create_task(a, Utc::now(), new_task))).await?;
    let immersion = NewTask {
        id: None,
        kind: TaskKind::ImmersionRequest,
        title: "Demande de PMSMP en EHPAD".into(),
        company: Some("EHPAD Les Tilleuls".into()),
        offer_url: None,
        due_date: None,
        notes: Some("Appeler Mme Laurent le matin.".into()),
    };
    write(young.clone(), Box::new(move |doc, a| doc.create_task(a, Utc::now(), immersion))).await?;
    if variant % 3 == 0 {
        write(
            young.clone(),
            Box::new(move |doc, a| {
                doc.update_task(
                    a,
                    Utc::now(),
                    task,
                    sync_core::edit::TaskPatch { status: Some(TaskStatus::Done), ..Default::default() },
                )
            }),
        )
        .await?;
    }
    Ok(())
}

/// Seeds the demonstration on an empty database; `None` when it already holds users.
pub async fn seed(state: &AppState) -> anyhow::Result<Option<Vec<Login>>> {
    if state.store.count_users().await? > 0 {
        return Ok(None);
    }
    let structure = Uuid::new_v4();
    state.store.create_structure(structure, DEMO_STRUCTURE, Utc::now()).await?;
    let mut logins = Vec::new();
    let supervisor_email = "nadia.bernard@ml-lyon.example.org";
    let supervisor =
        create_staff(state, Role::Supervisor, supervisor_email, "Nadia", "Bernard", Some(structure), DEMO_PASSWORD)
            .await?;
    logins.push(Login {
        role: Role::Supervisor,
        email: supervisor_email.into(),
        name: "Nadia Bernard".into(),
        id: supervisor,
    });
    let mut advisers = Vec::new();
    for (first, last) in [("Karim", "Mansouri"), ("Julie", "Lambert")] {
        let email = format!("{}.{}@ml-lyon.example.org", slug(first), slug(last));
        let id = create_staff(state, Role::Adviser, &email, first, last, Some(structure), DEMO_PASSWORD).await?;
        logins.push(Login { role: Role::Adviser, email, name: format!("{first} {last}"), id });
        advisers.push(id);
    }
    let hash = state.passwords.hash(DEMO_PASSWORD.to_owned()).await?;
    for (i, (first, last)) in YOUNG_PEOPLE.iter().enumerate() {
        let adviser = advisers[i % 2];
        let email = format!("{}.{}@exemple.fr", slug(first), slug(last));
        let (id, document_id) =
            create_young_person(state, &email, first, last, structure, Some(adviser), Some(hash.clone())).await?;
        populate_plan(state, id, &document_id, adviser, i).await?;
        logins.push(Login { role: Role::YoungPerson, email, name: format!("{first} {last}"), id });
    }
    Ok(Some(logins))
}
