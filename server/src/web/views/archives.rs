//! `/archives`: the archives of the adviser's structure (issue 14), kept for the archive period
//! (`RetentionConfig::archive_days`, 2 years) then deleted; `/archives/{id}`: one archive with a
//! summary of the export it froze, and `/archives/{id}/export` that export as a JSON file. Another
//! structure's archive is the 404 page, as in the REST API (`routes::departures`).

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use uuid::Uuid;

use crate::routes::departures::{ArchiveLine, archive_detail, archive_reader, list_archives};
use crate::state::AppState;

use super::super::errors::{WebError, html};
use super::super::form::WebPath;
use super::super::format::{self, timezone};
use super::super::page::{Crumb, Page, Section};
use super::super::session::WebUser;
use super::departures::json_attachment;

pub struct ArchiveRow {
    pub id: Uuid,
    pub href: String,
    pub name: String,
    pub email: String,
    pub reason: String,
    pub ended_on: String,
    pub archived_on: String,
    pub archived_by: String,
    pub deleted_on: String,
    pub comment: Option<String>,
}

/// Who archived: the adviser's name when known, the retention pass when nobody did.
struct Names {
    known: HashMap<Uuid, String>,
}

impl Names {
    async fn of_structure(state: &AppState, structure: Uuid) -> Result<Names, WebError> {
        let known = state
            .store
            .structure_staff(structure)
            .await?
            .into_iter()
            .map(|s| (s.id, format!("{} {}", s.first_name, s.last_name)))
            .collect();
        Ok(Names { known })
    }

    async fn name(&mut self, state: &AppState, by: Option<Uuid>) -> Result<String, WebError> {
        let Some(id) = by else {
            return Ok("Archivage automatique".into());
        };
        if let Some(name) = self.known.get(&id) {
            return Ok(name.clone());
        }
        // An adviser who left the structure since.
        let name = match state.store.user_by_id(id).await? {
            Some(u) => format!("{} {}", u.first_name, u.last_name),
            None => "Conseiller supprimé".into(),
        };
        self.known.insert(id, name.clone());
        Ok(name)
    }
}

async fn row(state: &AppState, names: &mut Names, user: &WebUser, a: ArchiveLine) -> Result<ArchiveRow, WebError> {
    let tz = timezone(&user.user.timezone);
    Ok(ArchiveRow {
        id: a.id,
        href: format!("/archives/{}", a.id),
        name: format!("{} {}", a.first_name, a.last_name),
        email: a.email,
        reason: a.reason_label,
        ended_on: a.ended_on.map(format::date).unwrap_or_else(|| "—".into()),
        archived_on: format::date(a.archived_at.with_timezone(&tz).date_naive()),
        archived_by: names.name(state, a.archived_by).await?,
        deleted_on: format::date(a.deleted_at.with_timezone(&tz).date_naive()),
        comment: a.comment,
    })
}

#[derive(Template)]
#[template(path = "web/archives.html")]
struct ArchivesPage {
    page: Page,
    rows: Vec<ArchiveRow>,
    kept_for: String,
    /// The listing stopped at `limit` archives.
    truncated: bool,
    limit: i64,
}

pub async fn list(State(state): State<AppState>, user: WebUser) -> Result<Response, WebError> {
    let structure = archive_reader(&user.user)?;
    let lines = list_archives(State(state.clone()), user.user.clone()).await?.0;
    let mut names = Names::of_structure(&state, structure).await?;
    let mut rows = Vec::with_capacity(lines.len());
    for line in lines {
        rows.push(row(&state, &mut names, &user, line).await?);
    }
    let limit = crate::routes::departures::ARCHIVES_PAGE;
    let page = ArchivesPage {
        page: Page::new(&user, "Archives", Section::Archives),
        truncated: rows.len() as i64 >= limit,
        rows,
        kept_for: format::kept_for(state.config.retention.archive_days.max(1)),
        limit,
    };
    Ok(html(StatusCode::OK, &page))
}

pub struct Counted {
    pub label: &'static str,
    pub count: usize,
}

#[derive(Template)]
#[template(path = "web/archive.html")]
struct ArchiveDetailPage {
    page: Page,
    archive: ArchiveRow,
    export_href: String,
    created_on: String,
    activated: bool,
    last_sign_in: String,
    advisers: Vec<String>,
    counts: Vec<Counted>,
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<Uuid>,
) -> Result<Response, WebError> {
    let structure = archive_reader(&user.user)?;
    let detail = archive_detail(&state, &user.user, id).await?;
    let tz = timezone(&user.user.timezone);
    let export = detail.export;
    let mut names = Names::of_structure(&state, structure).await?;
    let archive = row(&state, &mut names, &user, detail.line).await?;
    let plan = &export.plan.content;
    let counts = vec![
        Counted { label: "Actions", count: plan.actions.len() },
        Counted { label: "Rendez-vous", count: plan.appointments.len() },
        Counted { label: "Démarches", count: plan.tasks.len() },
        Counted { label: "Notifications", count: export.notifications.len() },
        Counted { label: "Téléphones enregistrés", count: export.devices.len() },
    ];
    let mut page = Page::new(&user, archive.name.clone(), Section::Archives);
    page.crumbs.push(Crumb { href: "/archives".into(), label: "Archives".into() });
    let page = ArchiveDetailPage {
        page,
        export_href: format!("/archives/{}/export", archive.id),
        created_on: format::date(export.account.created_at.with_timezone(&tz).date_naive()),
        activated: export.account.activated,
        last_sign_in: export
            .account
            .last_sign_in_at
            .map(|at| format::date_time(at, tz))
            .unwrap_or_else(|| "Jamais".into()),
        advisers: export.advisers.iter().map(|a| format!("{} {}", a.first_name, a.last_name)).collect(),
        counts,
        archive,
    };
    Ok(html(StatusCode::OK, &page))
}

pub async fn export(
    State(state): State<AppState>,
    user: WebUser,
    WebPath(id): WebPath<Uuid>,
) -> Result<Response, WebError> {
    let detail = archive_detail(&state, &user.user, id).await?;
    let tz = timezone(&user.user.timezone);
    let name = format::export_file_name(
        &detail.line.first_name,
        &detail.line.last_name,
        detail.line.archived_at.with_timezone(&tz).date_naive(),
    );
    json_attachment(&detail.export, &name)
}
