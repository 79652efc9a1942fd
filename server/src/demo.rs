//! `serve --demo`: on an empty database, a Mission Locale with a supervisor, two advisers and a
//! dozen young people whose plans look like real ones, as the advisers find them on a working
//! day: appointments on weekdays in office hours (Europe/Paris), some past and closed, some past
//! and still to close, this week's and next week's; actions late, done and waiting for their
//! qualification, qualified; young people active today and others silent for two weeks; one
//! followed temporarily by the other adviser; one created but not activated yet; one who left
//! (archived « Formation »: the structure's « Archives » page has an entry).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use sync_core::edit::{ActionPatch, NewAction, NewAppointment, NewTask};
use sync_core::model::{
    ActionCategory, ActionStatus, AppointmentKind, AppointmentResponse, Modality, Presence, QualificationCode, Role,
    TaskKind, TaskStatus,
};
use sync_core::schema::Collection;
use sync_core::{Author, DocumentId, PlanDocument};
use uuid::Uuid;

use crate::auth::tokens::{hash_token, new_activation_code, normalize_activation_code};
use crate::state::AppState;
use crate::store::{NewUser, PortfolioKind};

/// One edit of the demo plans, made at the instant it is given.
type DemoEdit = Box<
    dyn FnOnce(&mut PlanDocument, &Author, DateTime<Utc>) -> Result<sync_core::edit::EditOutcome, sync_core::EditError>
        + Send,
>;

pub const DEMO_PASSWORD: &str = "demo-pass-emploi";
pub const DEMO_STRUCTURE: &str = "Mission Locale de Lyon";

/// The structure's time zone: office hours and "today" are read there.
const TIMEZONE: chrono_tz::Tz = chrono_tz::Europe::Paris;

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

/// The young person (by index) the second adviser follows temporarily (a colleague's absence).
const TEMPORARY: usize = 8;

/// The young person the first adviser created this week, who has not activated their account.
const NOT_ACTIVATED: (&str, &str) = ("Rayan", "Girard");

/// The young person who left for a training course: archived by the first adviser.
const ARCHIVED: (&str, &str) = ("Tom", "Leroy");

/// How long before the seed each young person last changed their plan themself, in hours.
const LAST_SEEN_HOURS: [i64; 12] = [2, 26, 50, 12 * 24 + 3, 5, 4 * 24, 15 * 24 + 6, 3 * 24 + 5, 1, 21 * 24, 6 * 24, 30];

/// Appointment slots in office hours (9:00–12:00, 13:30–17:30): local start and duration.
const SLOTS: [(u32, u32, i64); 9] = [
    (9, 0, 45),
    (9, 45, 45),
    (10, 30, 45),
    (11, 15, 45),
    (13, 30, 60),
    (14, 30, 45),
    (15, 15, 45),
    (16, 0, 60),
    (16, 45, 45),
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

fn is_working_day(day: NaiveDate) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The `n`-th working day after `day` (`n` > 0) or before it (`n` < 0).
fn working_day(day: NaiveDate, n: i64) -> NaiveDate {
    let step = Duration::days(n.signum());
    let mut out = day;
    let mut left = n.abs();
    while left > 0 {
        out += step;
        if is_working_day(out) {
            left -= 1;
        }
    }
    out
}

/// Slot `index` (modulo the slots) on `day`, in the structure's time zone: start and duration.
fn slot(day: NaiveDate, index: usize) -> (DateTime<Utc>, i64) {
    let (hour, minute, duration) = SLOTS[index % SLOTS.len()];
    // Office hours are never in a DST gap (`local_instant` takes the earliest of an ambiguous hour).
    (local_instant(day, hour, minute), duration)
}

/// `hour:minute` on `day` in the structure's time zone, in UTC.
fn local_instant(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let naive = day.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN));
    TIMEZONE
        .from_local_datetime(&naive)
        .earliest()
        .map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.with_timezone(&Utc))
}

/// An adviser's write at about `at`, moved back into their working hours (weekdays, 8:30–18:00
/// local) unless that would put it before `floor` (what it follows).
fn office_time(at: DateTime<Utc>, floor: DateTime<Utc>) -> DateTime<Utc> {
    let local = at.with_timezone(&TIMEZONE);
    let day = local.date_naive();
    let minutes = i64::from(local.hour() * 60 + local.minute());
    if is_working_day(day) && (8 * 60 + 30..=18 * 60).contains(&minutes) {
        return at;
    }
    let day = if is_working_day(day) && minutes > 18 * 60 { day } else { working_day(day, -1) };
    // Spread over the working day rather than all at closing time.
    let spread = 8 * 60 + 30 + (minutes * 7) % (9 * 60 + 30);
    let moved = local_instant(day, (spread / 60) as u32, (spread % 60) as u32);
    if moved < floor { at } else { moved }
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

/// The plan's writes, each by its author at its instant.
struct Writer<'a> {
    state: &'a AppState,
    document_id: &'a str,
    young_person_id: Uuid,
}

impl Writer<'_> {
    async fn write(&self, author: &Author, at: DateTime<Utc>, f: DemoEdit) -> anyhow::Result<()> {
        self.state
            .documents
            .write(
                self.document_id,
                self.young_person_id,
                author.user_id,
                at,
                |doc| f(doc, author, at).map(|o| ((), o)),
                |_, _, _| (),
            )
            .await
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("demo write: {e}"))
    }
}

fn appointment(
    id: Uuid,
    title: &str,
    kind: AppointmentKind,
    (starts_at, duration_minutes): (DateTime<Utc>, i64),
    modality: Modality,
) -> NewAppointment {
    let (address, video_url) = match modality {
        Modality::InPerson => (Some("12 rue de la République, 69002 Lyon".to_owned()), None),
        Modality::Video => (None, Some("https://visio.example.org/ml-lyon".to_owned())),
        Modality::Phone => (None, None),
    };
    NewAppointment {
        id: Some(id),
        title: title.to_owned(),
        kind,
        starts_at,
        duration_minutes,
        modality,
        address,
        video_url,
        comment: None,
        adviser_present: Some(true),
    }
}

/// Fills a plan with a realistic mix, as it stands at the seed (now): actions in every status
/// (done and qualified, done and waiting for the qualification, late, in progress), a past
/// appointment closed, a coming one, job-search tasks; `variant` varies the dates and the
/// young person's last activity.
pub async fn populate_plan(
    state: &AppState,
    young_person_id: Uuid,
    document_id: &str,
    adviser_id: Uuid,
    variant: usize,
) -> anyhow::Result<()> {
    populate(state, young_person_id, document_id, adviser_id, None, variant, Utc::now()).await
}

/// [`populate_plan`] at `now`; `lead`, when given, is the adviser who leads the coming
/// appointment (a colleague following the young person temporarily).
async fn populate(
    state: &AppState,
    young_person_id: Uuid,
    document_id: &str,
    adviser_id: Uuid,
    lead: Option<Uuid>,
    v: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let adviser = Author::new(adviser_id, Role::Adviser, true);
    let lead = lead.map_or_else(|| adviser.clone(), |id| Author::new(id, Role::Adviser, true));
    let young = Author::young_person(young_person_id);
    let today = now.with_timezone(&TIMEZONE).date_naive();
    let days = |n: i64| today + Duration::days(n);
    let vi = v as i64;
    let writer = Writer { state, document_id, young_person_id };
    // The young person's last own write is at `last_seen`; the plan was opened five weeks ago.
    let last_seen = now - Duration::hours(LAST_SEEN_HOURS[v % LAST_SEEN_HOURS.len()]);
    let opened = now - Duration::days(35);
    let idle = now - last_seen > Duration::days(10);

    // First, up to `last_seen`: the adviser sets the plan up, the young person works on it.
    let mut steps: Vec<(Author, DemoEdit)> = Vec::new();
    let past = Uuid::new_v4();
    let past_slot = slot(working_day(today, -(3 + vi % 8)), v + 3);
    let past_new = appointment(
        past,
        "Entretien de suivi",
        AppointmentKind::EntretienIndividuelConseiller,
        past_slot,
        Modality::InPerson,
    );
    steps.push((adviser.clone(), Box::new(move |d, a, at| d.schedule_appointment(a, at, past_new))));
    if v % 3 == 0 {
        // Held yesterday or the day before, not closed yet.
        let new = appointment(
            Uuid::new_v4(),
            "Point sur la recherche d'emploi",
            AppointmentKind::EntretienIndividuelConseiller,
            slot(working_day(today, -(1 + vi % 2)), v + 5),
            if v % 2 == 0 { Modality::InPerson } else { Modality::Phone },
        );
        steps.push((adviser.clone(), Box::new(move |d, a, at| d.schedule_appointment(a, at, new))));
    }
    if (v == 2 || v == 7) && is_working_day(today) {
        let new = appointment(
            Uuid::new_v4(),
            "Entretien individuel",
            AppointmentKind::EntretienIndividuelConseiller,
            slot(today, v),
            Modality::InPerson,
        );
        steps.push((adviser.clone(), Box::new(move |d, a, at| d.schedule_appointment(a, at, new))));
    }
    let coming = Uuid::new_v4();
    let (title, kind, modality) = match v % 4 {
        0 => ("Entretien individuel", AppointmentKind::EntretienIndividuelConseiller, Modality::InPerson),
        1 => ("Atelier CV et lettre de motivation", AppointmentKind::Atelier, Modality::Video),
        2 => ("Information collective Garantie jeunes", AppointmentKind::InformationCollective, Modality::InPerson),
        _ => ("Entretien téléphonique", AppointmentKind::EntretienIndividuelConseiller, Modality::Phone),
    };
    let coming_new = appointment(coming, title, kind, slot(working_day(today, 1 + vi % 8), v), modality);
    steps.push((lead.clone(), Box::new(move |d, a, at| d.schedule_appointment(a, at, coming_new))));
    if v == 5 {
        let canceled = Uuid::new_v4();
        let new = appointment(
            canceled,
            "Visite de l'entreprise Keolis",
            AppointmentKind::Visite,
            slot(working_day(today, 2), 6),
            Modality::InPerson,
        );
        steps.push((adviser.clone(), Box::new(move |d, a, at| d.schedule_appointment(a, at, new))));
        steps.push((adviser.clone(), Box::new(move |d, a, at| d.cancel_appointment(a, at, canceled))));
    }
    let titles = [
        ("Mettre à jour mon CV", ActionCategory::Emploi, days(-12)),
        ("Rendez-vous avec la Mission Locale pour le permis B", ActionCategory::Citoyennete, days(-3 + vi % 5)),
        ("Chercher une formation d'aide-soignant", ActionCategory::Formation, days(if idle { -4 } else { 3 + vi % 7 })),
        ("Déposer un dossier de logement au CROUS", ActionCategory::Logement, days(6 + vi % 3)),
        ("Faire un bilan de santé à la CPAM", ActionCategory::Sante, days(10 + vi)),
        (
            "S'inscrire au club de foot du quartier",
            ActionCategory::CultureSportLoisirs,
            days(if v % 4 == 1 { -1 } else { 14 }),
        ),
    ];
    let ids: Vec<Uuid> = titles.iter().map(|_| Uuid::new_v4()).collect();
    for (i, (title, category, due)) in titles.iter().enumerate() {
        let author = if i % 2 == 0 { adviser.clone() } else { young.clone() };
        let new = NewAction {
            id: Some(ids[i]),
            title: (*title).to_owned(),
            category: Some(*category),
            description: (i == 0).then(|| "Ajouter le stage chez Boulanger et le BAFA.".to_owned()),
            due_date: Some(*due),
            status: None,
            reminder: None,
        };
        steps.push((author, Box::new(move |d, a, at| d.create_action(a, at, new))));
    }
    let (first, second, fourth) = (ids[0], ids[1], ids[3]);
    steps.push((young.clone(), Box::new(move |d, a, at| d.complete_action(a, at, first))));
    steps.push((
        young.clone(),
        Box::new(move |d, a, at| {
            d.update_action(a, at, second, ActionPatch { status: Some(ActionStatus::InProgress), ..Default::default() })
        }),
    ));
    if v % 4 == 2 {
        steps.push((young.clone(), Box::new(move |d, a, at| d.complete_action(a, at, fourth))));
    }
    match v % 4 {
        3 => {} // No answer yet.
        _ if v % 12 == 10 => steps.push((
            young.clone(),
            Box::new(move |d, a, at| d.answer_appointment(a, at, coming, AppointmentResponse::Declined)),
        )),
        _ => steps.push((
            young.clone(),
            Box::new(move |d, a, at| d.answer_appointment(a, at, coming, AppointmentResponse::Accepted)),
        )),
    }
    let task = Uuid::new_v4();
    let new_task = NewTask {
        id: Some(task),
        kind: TaskKind::Application,
        title: "Candidature vendeur·se en boulangerie".into(),
        company: Some("Boulangerie Paul".into()),
        offer_url: Some("https://candidat.francetravail.fr/offres/recherche/detail/000000".into()),
        due_date: Some(days(5)),
        notes: None,
    };
    steps.push((young.clone(), Box::new(move |d, a, at| d.create_task(a, at, new_task))));
    let immersion = NewTask {
        id: None,
        kind: TaskKind::ImmersionRequest,
        title: "Demande de PMSMP en EHPAD".into(),
        company: Some("EHPAD Les Tilleuls".into()),
        offer_url: None,
        due_date: None,
        notes: Some("Appeler Mme Laurent le matin.".into()),
    };
    steps.push((young.clone(), Box::new(move |d, a, at| d.create_task(a, at, immersion))));
    if v % 3 == 0 {
        steps.push((
            young.clone(),
            Box::new(move |d, a, at| {
                d.update_task(
                    a,
                    at,
                    task,
                    sync_core::edit::TaskPatch { status: Some(TaskStatus::Done), ..Default::default() },
                )
            }),
        ));
    }
    // Spread between the opening and `last_seen`; the last step (the young person's) at `last_seen`.
    let count = steps.len() as i32;
    let mut adviser_at = opened - Duration::days(3);
    for (k, (author, edit)) in (1..).zip(steps) {
        let mut at = opened + (last_seen - opened) * k / count;
        if author.role == Role::Adviser {
            // In order: moved back into working hours, but not before the adviser's previous write.
            at = office_time(at, opened - Duration::days(3)).max(adviser_at);
            adviser_at = at;
        }
        writer.write(&author, at, edit).await?;
    }

    // Then the adviser alone: the past appointment closed right after it, the done action
    // qualified (or left for « Actions à qualifier »), a comment.
    let close_at = past_slot.0 + Duration::minutes(past_slot.1 + 10);
    let presence = if v % 5 == 4 { Presence::Absent } else { Presence::Present };
    writer.write(&adviser, close_at, Box::new(move |d, a, at| d.close_appointment(a, at, past, presence))).await?;
    if v % 3 != 1 {
        writer
            .write(
                &adviser,
                office_time(last_seen + (now - last_seen) / 2, last_seen),
                Box::new(move |d, a, at| {
                    d.qualify_action(a, at, first, QualificationCode::Emploi, Some("CV envoyé à 3 employeurs".into()))
                }),
            )
            .await?;
    }
    let third = ids[2];
    writer
        .write(
            &adviser,
            office_time(last_seen + (now - last_seen) * 3 / 4, last_seen),
            Box::new(move |d, a, at| {
                d.add_comment(
                    a,
                    at,
                    Collection::Actions,
                    third,
                    None,
                    "Regarde l'IFSI de Lyon Sud, inscriptions en mars.".into(),
                )
                .map(|(_, o)| o)
            }),
        )
        .await?;
    Ok(())
}

/// A young person the adviser created two days ago, who has not activated their account yet: a
/// first appointment and two actions prepared by the adviser. Returns the activation code.
async fn create_not_activated(
    state: &AppState,
    structure_id: Uuid,
    adviser_id: Uuid,
    now: DateTime<Utc>,
) -> anyhow::Result<(Uuid, String, String)> {
    let (first, last) = NOT_ACTIVATED;
    let email = format!("{}.{}@exemple.fr", slug(first), slug(last));
    let id = Uuid::new_v4();
    let code = new_activation_code();
    let created = office_time(now - Duration::days(2), now - Duration::days(5));
    let mut doc = PlanDocument::genesis(id)?;
    let document_id = DocumentId::new_random().to_string();
    let user = NewUser {
        id,
        role: Role::YoungPerson,
        email: email.clone(),
        password_hash: None,
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        timezone: "Europe/Paris".into(),
        structure_id: Some(structure_id),
        activation_code_hash: Some(hash_token(&normalize_activation_code(&code))),
        activation_expires_at: Some(now + Duration::days(crate::routes::young_people::ACTIVATION_TTL_DAYS)),
    };
    state.store.create_young_person(&user, Some(adviser_id), &document_id, &doc.save(), created).await?;
    let adviser = Author::new(adviser_id, Role::Adviser, true);
    let writer = Writer { state, document_id: &document_id, young_person_id: id };
    let today = now.with_timezone(&TIMEZONE).date_naive();
    let meeting = appointment(
        Uuid::new_v4(),
        "Premier entretien",
        AppointmentKind::EntretienIndividuelConseiller,
        slot(working_day(today, 2), 4),
        Modality::InPerson,
    );
    writer.write(&adviser, created, Box::new(move |d, a, at| d.schedule_appointment(a, at, meeting))).await?;
    for (title, category, due) in [
        ("Activer mon compte Pass emploi", ActionCategory::Citoyennete, today + Duration::days(2)),
        (
            "Apporter une pièce d'identité et un justificatif de domicile",
            ActionCategory::Logement,
            today + Duration::days(5),
        ),
    ] {
        let new = NewAction {
            id: None,
            title: title.to_owned(),
            category: Some(category),
            description: None,
            due_date: Some(due),
            status: None,
            reminder: None,
        };
        writer.write(&adviser, created, Box::new(move |d, a, at| d.create_action(a, at, new))).await?;
    }
    Ok((id, email, code))
}

/// Seeds the demonstration on an empty database; `None` when it already holds users.
pub async fn seed(state: &AppState) -> anyhow::Result<Option<Vec<Login>>> {
    seed_at(state, Utc::now()).await
}

/// Tom Leroy's plan, then his archive (« Formation », with the adviser's comment).
async fn archive_one(
    state: &AppState,
    structure: Uuid,
    adviser: Uuid,
    hash: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let (first, last) = ARCHIVED;
    let email = format!("{}.{}@exemple.fr", slug(first), slug(last));
    let (id, document_id) =
        create_young_person(state, &email, first, last, structure, Some(adviser), Some(hash.to_owned())).await?;
    populate(state, id, &document_id, adviser, None, YOUNG_PEOPLE.len(), now).await?;
    let request = crate::lifecycle::ArchiveRequest {
        reason: crate::lifecycle::ArchiveReason::Training,
        ended_on: None,
        comment: Some("Entrée en BTS MCO en alternance à la rentrée.".into()),
    };
    let today = crate::routes::young_people::today_for("Europe/Paris", now);
    crate::lifecycle::archive(
        state.store.as_ref(),
        id,
        &request,
        crate::lifecycle::Actor::Adviser(adviser),
        today,
        now,
    )
    .await
    .map_err(|e| anyhow::anyhow!("archiving the demo's {first} {last}: {e}"))?;
    Ok(())
}

/// [`seed`] as if it were `now` (the plans' dates are relative to it).
/// A short exchange in the young person's conversation: the adviser asks, the young person
/// answers, the adviser's last message is not read yet.
async fn converse(
    state: &AppState,
    young_person_id: Uuid,
    adviser_id: Uuid,
    v: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let adviser = Author::new(adviser_id, Role::Adviser, true);
    let young = Author::young_person(young_person_id);
    let exchange: [(&Author, i64, &str); 3] = [
        (&adviser, 50 + v as i64, "Bonjour ! Où en êtes-vous de votre CV ? N'hésitez pas si vous avez des questions."),
        (&young, 26 + v as i64, "Bonjour, je l'ai presque fini. Je peux vous l'envoyer avant notre entretien ?"),
        (&adviser, 3 + v as i64, "Oui, envoyez-le-moi et on le regarde ensemble jeudi."),
    ];
    for (author, hours_ago, text) in exchange {
        let at = now - Duration::hours(hours_ago);
        let new = sync_core::conversation::NewMessage { id: None, text: text.to_owned(), reference: None };
        state
            .conversations
            .write(young_person_id, author.user_id, at, |doc| doc.send_message(author, at, new.clone()), |_, _| ())
            .await
            .map_err(|e| anyhow::anyhow!("demo message: {e}"))?;
        if author.role == Role::YoungPerson {
            // The young person read what came before their answer.
            state
                .conversations
                .write(young_person_id, author.user_id, at, |doc| doc.mark_all_read(author, at), |_, _| ())
                .await
                .map_err(|e| anyhow::anyhow!("demo read: {e}"))?;
        }
    }
    Ok(())
}

pub async fn seed_at(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<Option<Vec<Login>>> {
    if state.store.count_users().await? > 0 {
        return Ok(None);
    }
    let structure = Uuid::new_v4();
    state.store.create_structure(structure, DEMO_STRUCTURE, now).await?;
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
        // The colleague follows one young person for a while, and leads their next appointment.
        let lead = (i == TEMPORARY).then(|| advisers[(i + 1) % 2]);
        if let Some(colleague) = lead {
            state.store.add_to_portfolio(id, colleague, PortfolioKind::Temporary, now - Duration::days(34)).await?;
        }
        populate(state, id, &document_id, adviser, lead, i, now).await?;
        if i < 4 {
            converse(state, id, adviser, i, now).await?;
        }
        logins.push(Login { role: Role::YoungPerson, email, name: format!("{first} {last}"), id });
    }
    // Not among the logins (no password yet): activated with the code logged here.
    let (_, email, code) = create_not_activated(state, structure, advisers[0], now).await?;
    tracing::info!(%email, activation_code = %code, "demo: a young person not activated yet");
    archive_one(state, structure, advisers[0], &hash, now).await?;
    Ok(Some(logins))
}
