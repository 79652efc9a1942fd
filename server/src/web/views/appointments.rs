//! An appointment of a young person's plan: schedule it, reschedule it, cancel it, close it with
//! the young person's presence once it has started. Dates and times are the adviser's local ones.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use sync_core::edit::{AppointmentPatch, NewAppointment};
use sync_core::model::{Appointment, AppointmentKind, AppointmentStatus, Modality, Presence};
use sync_core::schema::Collection;
use uuid::Uuid;

use crate::routes::plans::edit;
use crate::state::AppState;

use super::super::errors::{WebError, html};
use super::super::feedback::{self, FieldErrors, FormField, after_post, field};
use super::super::form::{Fields, Posted, WebPath};
use super::super::format::{self, Choice, choices, timezone};
use super::super::page::{Page, Section};
use super::super::session::WebUser;
use super::young_person::{Feedback, open, read_entity, stream_of};

const APPOINTMENT_FIELDS: [FormField; 10] = [
    field("title", "title", "Titre"),
    field("kind", "kind", "Type"),
    field("starts_at", "date", "Date"),
    field("duration_minutes", "duration", "Durée (minutes)"),
    field("modality", "modality", "Modalité"),
    field("address", "address", "Adresse"),
    field("video_url", "video_url", "Lien de visioconférence"),
    field("comment", "comment", "Commentaire"),
    field("presence", "presence", "Présence"),
    field("status", "", "Statut"),
];

/// The values of the appointment form.
pub struct AppointmentFields {
    pub title: String,
    pub kinds: Vec<Choice>,
    pub date: String,
    pub time: String,
    pub duration: String,
    pub modalities: Vec<Choice>,
    pub address: String,
    pub video_url: String,
    pub comment: String,
}

impl AppointmentFields {
    fn empty() -> Self {
        AppointmentFields {
            title: String::new(),
            kinds: kind_choices(Some(AppointmentKind::EntretienIndividuelConseiller.as_str())),
            date: String::new(),
            time: String::new(),
            duration: "45".into(),
            modalities: modality_choices(Some(Modality::InPerson.as_str())),
            address: String::new(),
            video_url: String::new(),
            comment: String::new(),
        }
    }

    fn typed(fields: &Fields) -> Self {
        AppointmentFields {
            title: fields.get("title").to_owned(),
            kinds: kind_choices(Some(fields.get("kind"))),
            date: fields.get("date").to_owned(),
            time: fields.get("time").to_owned(),
            duration: fields.get("duration").to_owned(),
            modalities: modality_choices(Some(fields.get("modality"))),
            address: fields.get("address").to_owned(),
            video_url: fields.get("video_url").to_owned(),
            comment: fields.get("comment").to_owned(),
        }
    }

    fn of(a: &Appointment, tz: Tz) -> Self {
        let local = a.starts_at.with_timezone(&tz);
        AppointmentFields {
            title: a.title.clone(),
            kinds: kind_choices(Some(a.kind.as_str())),
            date: local.format("%Y-%m-%d").to_string(),
            time: local.format("%H:%M").to_string(),
            duration: a.duration_minutes.to_string(),
            modalities: modality_choices(Some(a.modality.as_str())),
            address: a.address.clone().unwrap_or_default(),
            video_url: a.video_url.clone().unwrap_or_default(),
            comment: a.comment.clone().unwrap_or_default(),
        }
    }
}

fn kind_choices(current: Option<&str>) -> Vec<Choice> {
    choices(AppointmentKind::ALL, AppointmentKind::as_str, format::appointment_kind, current)
}

fn modality_choices(current: Option<&str>) -> Vec<Choice> {
    choices(Modality::ALL, Modality::as_str, format::modality, current)
}

/// A local date and time in `tz` as an instant (the earlier one when the clock goes back).
pub fn local_instant(date: &str, time: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").ok()?;
    let time = NaiveTime::parse_from_str(time.trim(), "%H:%M").ok()?;
    tz.from_local_datetime(&date.and_time(time)).earliest().map(|at| at.with_timezone(&Utc))
}

/// What the form says, checked for what the form alone can tell.
struct Parsed {
    title: String,
    kind: Option<AppointmentKind>,
    starts_at: Option<DateTime<Utc>>,
    duration: Option<i64>,
    modality: Option<Modality>,
}

fn parse(fields: &Fields, tz: Tz, errors: &mut FieldErrors) -> Parsed {
    let kind = AppointmentKind::parse(fields.get("kind"));
    if kind.is_none() {
        errors.add("kind", "Choisissez un type de rendez-vous.");
    }
    let starts_at = local_instant(fields.get("date"), fields.get("time"), tz);
    if starts_at.is_none() {
        errors.add("date", "Saisissez une date et une heure valides.");
    }
    let duration = fields.get("duration").trim().parse::<i64>().ok();
    if duration.is_none() {
        errors.add("duration", "Saisissez une durée en minutes.");
    }
    let modality = Modality::parse(fields.get("modality"));
    if modality.is_none() {
        errors.add("modality", "Choisissez une modalité.");
    }
    Parsed { title: fields.get("title").trim().to_owned(), kind, starts_at, duration, modality }
}

fn plan_errors(e: crate::error::ApiError) -> Result<FieldErrors, WebError> {
    FieldErrors::from_api(&e, &APPOINTMENT_FIELDS).ok_or_else(|| WebError::from(e))
}

// ---- scheduling -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "web/appointment_new.html")]
struct NewAppointmentPage {
    page: Page,
    timezone: String,
    young_person_id: Uuid,
    name: String,
    new_id: Uuid,
    fields: AppointmentFields,
    errors: FieldErrors,
}

pub async fn new_form(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<Uuid>,
) -> Result<Response, WebError> {
    let opened = open(&state, &user, id).await?;
    let page = NewAppointmentPage {
        page: Page::new(&user, "Planifier un rendez-vous", Section::Portfolio).in_file(id, &opened.name),
        timezone: user.user.timezone.clone(),
        young_person_id: id,
        name: opened.name,
        new_id: Uuid::new_v4(),
        fields: AppointmentFields::empty(),
        errors: FieldErrors::default(),
    };
    Ok(html(StatusCode::OK, &page))
}

pub async fn create(
    State(state): State<AppState>,
    WebPath(id): WebPath<Uuid>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    let tz = timezone(&user.user.timezone);
    let mut errors = FieldErrors::default();
    let parsed = parse(&fields, tz, &mut errors);
    let new_id = Uuid::parse_str(fields.get("id")).unwrap_or_else(|_| Uuid::new_v4());
    if let (true, Some(kind), Some(starts_at), Some(duration), Some(modality)) =
        (errors.is_empty(), parsed.kind, parsed.starts_at, parsed.duration, parsed.modality)
    {
        let new = NewAppointment {
            id: Some(new_id),
            title: parsed.title,
            kind,
            starts_at,
            duration_minutes: duration,
            modality,
            address: fields.optional("address"),
            video_url: fields.optional("video_url"),
            comment: fields.optional("comment"),
            adviser_present: Some(true),
        };
        match edit(&state, &user.user, id, Collection::Appointments, |doc, a, now| {
            doc.schedule_appointment(a, now, new).map(|o| ((), o))
        })
        .await
        {
            Ok(_) => return Ok(Redirect::to(&format!("/beneficiaires/{id}?ok=rdv-planifie")).into_response()),
            Err(e) => errors = plan_errors(e)?,
        }
    }
    let opened = open(&state, &user, id).await?;
    let page = NewAppointmentPage {
        page: Page::new(&user, "Planifier un rendez-vous", Section::Portfolio).in_file(id, &opened.name),
        timezone: user.user.timezone.clone(),
        young_person_id: id,
        name: opened.name,
        new_id,
        fields: AppointmentFields::typed(&fields),
        errors,
    };
    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// « Paris » for `Europe/Paris`: the hint under the time field.
fn city_of(timezone: &str) -> String {
    timezone.rsplit('/').next().unwrap_or(timezone).replace('_', " ")
}

impl NewAppointmentPage {
    fn page_timezone(&self) -> String {
        city_of(&self.timezone)
    }
}

impl AppointmentPage {
    fn page_timezone(&self) -> String {
        city_of(&self.timezone)
    }
}

// ---- one appointment --------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "web/appointment.html")]
struct AppointmentPage {
    page: Page,
    timezone: String,
    young_person_id: Uuid,
    appointment_id: Uuid,
    title: String,
    kind: &'static str,
    when: String,
    duration: i64,
    modality: &'static str,
    address: String,
    video_url: String,
    comment: String,
    status: &'static str,
    response: &'static str,
    canceled: bool,
    closed: bool,
    can_close: bool,
    fields: AppointmentFields,
    errors: FieldErrors,
    success: Option<&'static str>,
}

async fn render(
    state: &AppState,
    user: &WebUser,
    young_person_id: Uuid,
    appointment_id: Uuid,
    typed: Option<&Fields>,
    errors: FieldErrors,
    success: Option<&'static str>,
) -> Result<Response, WebError> {
    let opened = open(state, user, young_person_id).await?;
    let a = &read_entity(state, &opened, Collection::Appointments, appointment_id, Appointment::from_node).await?;
    let tz = timezone(&user.user.timezone);
    let canceled = a.status == AppointmentStatus::Canceled;
    let page = AppointmentPage {
        page: Page::new(user, a.title.clone(), Section::Portfolio)
            .in_file(young_person_id, &opened.name)
            .live(stream_of(young_person_id)),
        timezone: user.user.timezone.clone(),
        young_person_id,
        appointment_id,
        title: a.title.clone(),
        kind: format::appointment_kind(a.kind),
        when: format::date_time(a.starts_at, tz),
        duration: a.duration_minutes,
        modality: format::modality(a.modality),
        address: a.address.clone().unwrap_or_default(),
        video_url: a.video_url.clone().unwrap_or_default(),
        comment: a.comment.clone().unwrap_or_default(),
        status: format::appointment_status(a.status, a.presence),
        response: format::response(a.response),
        canceled,
        closed: a.presence.is_some(),
        can_close: !canceled && a.presence.is_none() && a.starts_at <= Utc::now(),
        fields: typed.map(AppointmentFields::typed).unwrap_or_else(|| AppointmentFields::of(a, tz)),
        errors,
        success,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(html(status, &page))
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    WebPath((id, appointment_id)): WebPath<(Uuid, Uuid)>,
    Query(feedback): Query<Feedback>,
) -> Result<Response, WebError> {
    let success = feedback::success(feedback.ok.as_deref());
    render(&state, &user, id, appointment_id, None, FieldErrors::default(), success).await
}

pub async fn update(
    State(state): State<AppState>,
    WebPath((id, appointment_id)): WebPath<(Uuid, Uuid)>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    let tz = timezone(&user.user.timezone);
    let mut errors = FieldErrors::default();
    let parsed = parse(&fields, tz, &mut errors);
    if errors.is_empty() {
        let changes = AppointmentPatch {
            title: Some(parsed.title),
            kind: parsed.kind,
            starts_at: parsed.starts_at,
            duration_minutes: parsed.duration,
            modality: parsed.modality,
            address: Some(fields.optional("address")),
            video_url: Some(fields.optional("video_url")),
            comment: Some(fields.optional("comment")),
            adviser_present: None,
        };
        match edit(&state, &user.user, id, Collection::Appointments, |doc, a, now| {
            doc.update_appointment(a, now, appointment_id, changes).map(|o| ((), o))
        })
        .await
        {
            Ok(_) => {
                return Ok(after_post(
                    &fields,
                    &format!("/beneficiaires/{id}/rendez-vous/{appointment_id}"),
                    "rdv-modifie",
                ));
            }
            Err(e) => errors = plan_errors(e)?,
        }
    }
    render(&state, &user, id, appointment_id, Some(&fields), errors, None).await
}

pub async fn cancel(
    State(state): State<AppState>,
    WebPath((id, appointment_id)): WebPath<(Uuid, Uuid)>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    let errors = match edit(&state, &user.user, id, Collection::Appointments, |doc, a, now| {
        doc.cancel_appointment(a, now, appointment_id).map(|o| ((), o))
    })
    .await
    {
        Ok(_) => {
            return Ok(after_post(&fields, &format!("/beneficiaires/{id}/rendez-vous/{appointment_id}"), "rdv-annule"));
        }
        Err(e) => plan_errors(e)?,
    };
    render(&state, &user, id, appointment_id, None, errors, None).await
}

pub async fn close(
    State(state): State<AppState>,
    WebPath((id, appointment_id)): WebPath<(Uuid, Uuid)>,
    Posted { user, fields }: Posted,
) -> Result<Response, WebError> {
    let mut errors = FieldErrors::default();
    match Presence::parse(fields.get("presence")) {
        None => errors.add("presence", "Indiquez si le jeune était présent."),
        Some(presence) => {
            match edit(&state, &user.user, id, Collection::Appointments, |doc, a, now| {
                doc.close_appointment(a, now, appointment_id, presence).map(|o| ((), o))
            })
            .await
            {
                Ok(_) => {
                    return Ok(after_post(
                        &fields,
                        &format!("/beneficiaires/{id}/rendez-vous/{appointment_id}"),
                        "rdv-clos",
                    ));
                }
                Err(e) => errors = plan_errors(e)?,
            }
        }
    }
    render(&state, &user, id, appointment_id, None, errors, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_become_utc_instants() {
        let paris = chrono_tz::Europe::Paris;
        assert_eq!(local_instant("2026-12-02", "09:30", paris).unwrap().to_rfc3339(), "2026-12-02T08:30:00+00:00");
        assert_eq!(local_instant("2026-07-01", "09:30", paris).unwrap().to_rfc3339(), "2026-07-01T07:30:00+00:00");
        assert!(local_instant("2026-02-30", "09:30", paris).is_none());
        assert!(local_instant("2026-12-02", "25:00", paris).is_none());
        // The hour that does not exist when the clocks go forward.
        assert!(local_instant("2026-03-29", "02:30", paris).is_none());
    }
}
