//! `/portefeuille`: the young people an adviser follows (a supervisor: their structure's), one row
//! each from the projections — never a plan loaded per row — with search, filters and sorts.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sync_core::model::Role;
use uuid::Uuid;

use crate::routes::young_people::today_for;
use crate::state::AppState;
use crate::store::{PortfolioLine, PortfolioScope};

use super::super::errors::{WebError, html};
use super::super::feedback;
use super::super::format::{self, timezone};
use super::super::page::{Page, Section};
use super::super::session::WebUser;

/// Without activity for this long, a young person is « sans activité ».
const INACTIVE_AFTER_DAYS: i64 = 7;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    Late,
    ToQualify,
    Inactive,
    Temporary,
}

impl Filter {
    const ALL: [Filter; 4] = [Filter::Late, Filter::ToQualify, Filter::Inactive, Filter::Temporary];

    fn key(self) -> &'static str {
        match self {
            Filter::Late => "en_retard",
            Filter::ToQualify => "a_qualifier",
            Filter::Inactive => "sans_activite",
            Filter::Temporary => "temporaires",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Filter::Late => "Actions en retard",
            Filter::ToQualify => "Actions à qualifier",
            Filter::Inactive => "Sans activité depuis 7 jours",
            Filter::Temporary => "Suivis temporaires",
        }
    }

    fn parse(key: &str) -> Option<Filter> {
        Filter::ALL.into_iter().find(|f| f.key() == key)
    }

    pub fn keeps(self, line: &PortfolioLine, now: DateTime<Utc>) -> bool {
        match self {
            Filter::Late => line.late_actions > 0,
            Filter::ToQualify => line.to_qualify > 0,
            Filter::Inactive => line.last_activity_at.is_none_or(|at| at < now - Duration::days(INACTIVE_AFTER_DAYS)),
            Filter::Temporary => line.temporary,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    Name,
    NextAppointment,
    LastActivity,
}

impl Sort {
    const ALL: [Sort; 3] = [Sort::Name, Sort::NextAppointment, Sort::LastActivity];

    fn key(self) -> &'static str {
        match self {
            Sort::Name => "nom",
            Sort::NextAppointment => "rdv",
            Sort::LastActivity => "activite",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Sort::Name => "Nom",
            Sort::NextAppointment => "Prochain rendez-vous",
            Sort::LastActivity => "Dernière activité, la plus ancienne d'abord",
        }
    }

    fn parse(key: &str) -> Sort {
        Sort::ALL.into_iter().find(|s| s.key() == key).unwrap_or(Sort::Name)
    }
}

/// Lower case, without accents: « Chloé » is found with « chloe ».
pub fn folded(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' => 'a',
            'ç' => 'c',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' | 'ì' => 'i',
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ÿ' => 'y',
            'ñ' => 'n',
            c => c,
        })
        .collect()
}

/// Whether every word of the search is in the young person's name.
pub fn matches_search(line: &PortfolioLine, search: &str) -> bool {
    let name = folded(&format!("{} {}", line.first_name, line.last_name));
    folded(search).split_whitespace().all(|word| name.contains(word))
}

/// The lines the page shows: searched, filtered and sorted.
pub fn select(
    mut lines: Vec<PortfolioLine>,
    search: &str,
    filter: Option<Filter>,
    sort: Sort,
    now: DateTime<Utc>,
) -> Vec<PortfolioLine> {
    lines.retain(|l| matches_search(l, search) && filter.is_none_or(|f| f.keeps(l, now)));
    match sort {
        Sort::Name => lines.sort_by(|a, b| {
            (folded(&a.last_name), folded(&a.first_name), a.id).cmp(&(
                folded(&b.last_name),
                folded(&b.first_name),
                b.id,
            ))
        }),
        // Those without an appointment last.
        Sort::NextAppointment => lines.sort_by_key(|l| (l.next_appointment_at.is_none(), l.next_appointment_at, l.id)),
        // The least recently active first: those who need a call.
        Sort::LastActivity => lines.sort_by_key(|l| (l.last_activity_at, l.id)),
    }
    lines
}

pub struct FilterLink {
    pub href: String,
    pub label: &'static str,
    pub count: usize,
    pub current: bool,
}

pub struct SortLink {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

pub struct Row {
    pub id: Uuid,
    pub name: String,
    pub temporary: bool,
    pub activated: bool,
    pub open_actions: i64,
    pub late_actions: i64,
    pub to_qualify: i64,
    pub next_appointment: String,
    pub last_activity: String,
    /// Messages of their conversation the adviser has not read (0 when they do not take part).
    pub unread: i64,
}

#[derive(Template)]
#[template(path = "web/portfolio.html")]
struct PortfolioPage {
    page: Page,
    search: String,
    filters: Vec<FilterLink>,
    sorts: Vec<SortLink>,
    rows: Vec<Row>,
    total: usize,
    filtered: bool,
    supervisor: bool,
    success: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct PortfolioQuery {
    q: Option<String>,
    filtre: Option<String>,
    tri: Option<String>,
    /// The success message of a redirect (`feedback::success`).
    ok: Option<String>,
    /// After an archive: its id, to name the young person in the message.
    archive: Option<String>,
}

fn link(search: &str, filter: Option<Filter>, sort: Sort) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if !search.is_empty() {
        query.append_pair("q", search);
    }
    if let Some(f) = filter {
        query.append_pair("filtre", f.key());
    }
    if sort != Sort::Name {
        query.append_pair("tri", sort.key());
    }
    let query = query.finish();
    if query.is_empty() { "/portefeuille".into() } else { format!("/portefeuille?{query}") }
}

/// The message after a redirect; after an archive, naming the young person when the archive is one
/// of the adviser's structure (nothing from the URL is shown as is).
async fn success_message(
    state: &AppState,
    user: &WebUser,
    ok: Option<&str>,
    archive: Option<Uuid>,
) -> Result<Option<String>, WebError> {
    if let (Some("beneficiaire-archive"), Some(id), Some(structure)) = (ok, archive, user.user.structure_id) {
        if let Some((summary, _)) = state.store.archive_record(id).await? {
            if summary.structure_id == Some(structure) {
                let kept = format::kept_for(state.config.retention.archive_days.max(1));
                return Ok(Some(format!(
                    "{} {} a été archivé·e. Son dossier reste consultable dans « Archives » pendant {kept}.",
                    summary.first_name, summary.last_name
                )));
            }
        }
    }
    Ok(feedback::success(ok).map(str::to_owned))
}

pub async fn show(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<PortfolioQuery>,
) -> Result<Response, WebError> {
    let now = Utc::now();
    let today = today_for(&user.user.timezone, now);
    let tz = timezone(&user.user.timezone);
    let scope = match (user.user.role, user.user.structure_id) {
        (Role::Supervisor, Some(structure)) => PortfolioScope::Structure(structure),
        _ => PortfolioScope::Adviser(user.user.id),
    };
    let lines = state.store.portfolio_lines(scope, today, now).await?;
    // The unread messages of the conversations the adviser takes part in (a supervisor's structure
    // holds young people they do not follow: no badge for those).
    let followed = state.store.followed_young_people(user.user.id).await?;
    let unread: HashMap<Uuid, i64> = state
        .store
        .unread_counts(user.user.id, &followed)
        .await?
        .into_iter()
        .map(|c| (c.young_person_id, c.unread))
        .collect();
    let search: String = query.q.unwrap_or_default().trim().chars().take(100).collect();
    let filter = query.filtre.as_deref().and_then(Filter::parse);
    let sort = Sort::parse(query.tri.as_deref().unwrap_or(""));
    let total = lines.len();
    let filters = Filter::ALL
        .into_iter()
        .map(|f| FilterLink {
            href: link(&search, if filter == Some(f) { None } else { Some(f) }, sort),
            label: f.label(),
            count: lines.iter().filter(|l| matches_search(l, &search) && f.keeps(l, now)).count(),
            current: filter == Some(f),
        })
        .collect();
    let sorts = Sort::ALL
        .into_iter()
        .map(|s| SortLink { href: link(&search, filter, s), label: s.label(), current: s == sort })
        .collect();
    let rows = select(lines, &search, filter, sort, now)
        .into_iter()
        .map(|l| Row {
            id: l.id,
            name: format!("{} {}", l.first_name, l.last_name),
            temporary: l.temporary,
            activated: l.activated,
            open_actions: l.open_actions,
            late_actions: l.late_actions,
            to_qualify: l.to_qualify,
            next_appointment: l.next_appointment_at.map(|at| format::date_time(at, tz)).unwrap_or_else(|| "—".into()),
            last_activity: l
                .last_activity_at
                .map(|at| format::date(at.with_timezone(&tz).date_naive()))
                .unwrap_or_else(|| "Aucune".into()),
            unread: unread.get(&l.id).copied().unwrap_or(0),
        })
        .collect();
    let page = PortfolioPage {
        page: Page::new(&user, "Portefeuille", Section::Portfolio).live("/flux/portefeuille"),
        filtered: !search.is_empty() || filter.is_some(),
        search,
        filters,
        sorts,
        rows,
        total,
        supervisor: user.is_supervisor(),
        success: success_message(
            &state,
            &user,
            query.ok.as_deref(),
            query.archive.as_deref().and_then(|a| Uuid::parse_str(a).ok()),
        )
        .await?,
    };
    Ok(html(StatusCode::OK, &page))
}
