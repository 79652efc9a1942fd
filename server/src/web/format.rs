//! How the pages say things: the French labels of the plan's closed values, and instants in the
//! adviser's time zone.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use sync_core::model::{
    ActionCategory, ActionStatus, AppointmentKind, AppointmentResponse, AppointmentStatus, Modality, Presence,
    QualificationCode, TaskKind, TaskStatus,
};

pub fn timezone(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::Europe::Paris)
}

const WEEKDAYS: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];
const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// « 02/12/2026 »
pub fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// « mardi 2 décembre 2026 »
pub fn long_date(d: NaiveDate) -> String {
    let weekday = WEEKDAYS[d.weekday().num_days_from_monday() as usize];
    let month = MONTHS[d.month0() as usize];
    format!("{weekday} {} {month} {}", d.day(), d.year())
}

/// « 14h30 » in `tz`.
pub fn time(at: DateTime<Utc>, tz: Tz) -> String {
    let local = at.with_timezone(&tz);
    format!("{:02}h{:02}", local.hour(), local.minute())
}

/// « 02/12/2026 à 14h30 » in `tz`.
pub fn date_time(at: DateTime<Utc>, tz: Tz) -> String {
    format!("{} à {}", date(at.with_timezone(&tz).date_naive()), time(at, tz))
}

pub fn action_status(s: ActionStatus) -> &'static str {
    match s {
        ActionStatus::NotStarted => "À réaliser",
        ActionStatus::InProgress => "En cours",
        ActionStatus::Done => "Terminée",
        ActionStatus::Canceled => "Annulée",
    }
}

/// The DSFR badge kind of a status.
pub fn action_status_badge(s: ActionStatus) -> &'static str {
    match s {
        ActionStatus::NotStarted => "fr-badge--info",
        ActionStatus::InProgress => "fr-badge--new",
        ActionStatus::Done => "fr-badge--success",
        ActionStatus::Canceled => "",
    }
}

pub fn category(c: ActionCategory) -> &'static str {
    match c {
        ActionCategory::Emploi => "Emploi",
        ActionCategory::ProjetProfessionnel => "Projet professionnel",
        ActionCategory::CultureSportLoisirs => "Culture, sport et loisirs",
        ActionCategory::Citoyennete => "Citoyenneté",
        ActionCategory::Formation => "Formation",
        ActionCategory::Logement => "Logement",
        ActionCategory::Sante => "Santé",
    }
}

pub fn qualification(c: QualificationCode) -> &'static str {
    match c {
        QualificationCode::Emploi => "Emploi",
        QualificationCode::ProjetProfessionnel => "Projet professionnel",
        QualificationCode::CultureSportLoisirs => "Culture, sport et loisirs",
        QualificationCode::Citoyennete => "Citoyenneté",
        QualificationCode::Formation => "Formation",
        QualificationCode::Logement => "Logement",
        QualificationCode::Sante => "Santé",
        QualificationCode::NonSnp => "Non SNP (ne compte pas d'heures)",
    }
}

pub fn appointment_kind(k: AppointmentKind) -> &'static str {
    match k {
        AppointmentKind::EntretienIndividuelConseiller => "Entretien individuel conseiller",
        AppointmentKind::Atelier => "Atelier",
        AppointmentKind::InformationCollective => "Information collective",
        AppointmentKind::EntretienPartenaire => "Entretien avec un partenaire",
        AppointmentKind::Visite => "Visite",
        AppointmentKind::Prestation => "Prestation",
        AppointmentKind::ActiviteExterieure => "Activité extérieure",
        AppointmentKind::Autre => "Autre",
    }
}

pub fn modality(m: Modality) -> &'static str {
    match m {
        Modality::InPerson => "Sur place",
        Modality::Phone => "Par téléphone",
        Modality::Video => "En visioconférence",
    }
}

pub fn appointment_status(s: AppointmentStatus, presence: Option<Presence>) -> &'static str {
    match (s, presence) {
        (AppointmentStatus::Canceled, _) => "Annulé",
        (_, Some(Presence::Present)) => "Présent",
        (_, Some(Presence::Absent)) => "Absent",
        (AppointmentStatus::Scheduled, None) => "Prévu",
    }
}

pub fn response(r: Option<AppointmentResponse>) -> &'static str {
    match r {
        Some(AppointmentResponse::Accepted) => "Accepté",
        Some(AppointmentResponse::Declined) => "Refusé",
        None => "Sans réponse",
    }
}

pub fn task_kind(k: TaskKind) -> &'static str {
    match k {
        TaskKind::Application => "Candidature",
        TaskKind::SpontaneousApplication => "Candidature spontanée",
        TaskKind::Networking => "Prise de contact",
        TaskKind::JobFair => "Salon ou forum",
        TaskKind::TrainingSearch => "Recherche de formation",
        TaskKind::ImmersionRequest => "Demande d'immersion",
        TaskKind::Other => "Autre",
    }
}

pub fn task_status(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::ToDo => "À faire",
        TaskStatus::InProgress => "En cours",
        TaskStatus::Done => "Faite",
        TaskStatus::Canceled => "Annulée",
    }
}

/// One `<option>` of a select.
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// The options of a closed enum, `current` selected.
pub fn choices<T: Copy + PartialEq>(
    all: &[T],
    value: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    current: Option<&str>,
) -> Vec<Choice> {
    all.iter().map(|v| Choice { value: value(*v), label: label(*v), selected: current == Some(value(*v)) }).collect()
}

/// How long something is kept, in words: « 2 ans », « 1 an », « 90 jours ».
pub fn kept_for(days: i64) -> String {
    match days {
        d if d >= 365 && d % 365 == 0 && d / 365 == 1 => "1 an".into(),
        d if d >= 365 && d % 365 == 0 => format!("{} ans", d / 365),
        1 => "1 jour".into(),
        d => format!("{d} jours"),
    }
}

/// A file name's part in plain ASCII: « Maëlle Lefèvre » is `maelle-lefevre`; anything else than
/// letters and digits becomes one dash; never empty.
pub fn file_slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        let plain = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => "a",
            'æ' => "ae",
            'ç' => "c",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'ñ' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => "o",
            'œ' => "oe",
            'ù' | 'ú' | 'û' | 'ü' => "u",
            'ý' | 'ÿ' => "y",
            'ß' => "ss",
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => "-",
        };
        if plain == "-" {
            if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push_str(plain);
        }
    }
    let trimmed = out.trim_end_matches('-');
    let limited: String = trimmed.chars().take(60).collect();
    if limited.is_empty() { "x".into() } else { limited.trim_end_matches('-').to_owned() }
}

/// `export-<prénom>-<nom>-<date>.json`, in plain ASCII (a `Content-Disposition` file name).
pub fn export_file_name(first_name: &str, last_name: &str, on: NaiveDate) -> String {
    format!("export-{}-{}-{}.json", file_slug(first_name), file_slug(last_name), on.format("%Y-%m-%d"))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn instants_are_shown_in_the_advisers_time_zone() {
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 13, 30, 0).unwrap();
        assert_eq!(date_time(at, chrono_tz::Europe::Paris), "02/12/2026 à 14h30");
        assert_eq!(time(at, chrono_tz::America::Cayenne), "10h30");
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 7, 0, 0).unwrap();
        assert_eq!(time(summer, chrono_tz::Europe::Paris), "09h00");
        assert_eq!(long_date(NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()), "mercredi 2 décembre 2026");
    }

    #[test]
    fn export_file_names_are_plain_ascii() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        assert_eq!(export_file_name("Maëlle", "Lefèvre", day), "export-maelle-lefevre-2026-12-02.json");
        assert_eq!(export_file_name("Jean-Éric", "N'Diaye \"x\"", day), "export-jean-eric-n-diaye-x-2026-12-02.json");
        assert_eq!(export_file_name("李", "", day), "export-x-x-2026-12-02.json");
        assert_eq!(kept_for(730), "2 ans");
        assert_eq!(kept_for(365), "1 an");
        assert_eq!(kept_for(90), "90 jours");
    }
}
