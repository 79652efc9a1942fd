//! What a page tells the adviser after a form: the rulebook's refusals next to their fields, and
//! the success message of the last action (after the redirect that follows every successful post).

use axum::response::{IntoResponse, Redirect, Response};

use crate::error::ApiError;

use super::form::Fields;
use super::views::sign_in::safe_next;

/// Error messages by form field; `""` holds those of no field.
#[derive(Clone, Debug, Default)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_owned(), message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for a field, if any (all of them joined).
    pub fn of(&self, field: &str) -> Option<String> {
        let messages: Vec<&str> = self.0.iter().filter(|(f, _)| f == field).map(|(_, m)| m.as_str()).collect();
        (!messages.is_empty()).then(|| capitalize(&messages.join(" ; ")))
    }

    /// Every message, for the summary at the top of a form.
    pub fn all(&self) -> Vec<String> {
        self.0.iter().map(|(_, m)| capitalize(m)).collect()
    }

    /// The errors an edit was refused with, each under the form field it concerns (`fields` maps
    /// the plan's field names to the form's and to its French label, which replaces the plan's
    /// name in the message); `None` when the error is not about the form.
    pub fn from_api(error: &ApiError, fields: &[FormField]) -> Option<FieldErrors> {
        let problem = match error {
            ApiError::Refused(_) | ApiError::Validation(_) => error.problem(),
            _ => return None,
        };
        let mut out = FieldErrors::default();
        for e in problem.errors {
            match fields.iter().find(|f| f.plan == e.field) {
                Some(f) => out.add(f.form, e.message.replace(&format!("« {} »", f.plan), &format!("« {} »", f.label))),
                None => out.add("", e.message),
            }
        }
        if out.is_empty() {
            out.add("", problem.detail);
        }
        Some(out)
    }
}

/// A form's field: its name in the plan (the rulebook's reasons), in the form, and its label.
pub struct FormField {
    pub plan: &'static str,
    pub form: &'static str,
    pub label: &'static str,
}

pub const fn field(plan: &'static str, form: &'static str, label: &'static str) -> FormField {
    FormField { plan, form, label }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// After a successful post: back where the form was (its `retour` field, e.g. the pilotage page)
/// or to `default`, with the success message `ok` (a key of [`success`]).
pub fn after_post(fields: &Fields, default: &str, ok: &str) -> Response {
    let back = fields.optional("retour").map(|back| safe_next(&back).to_owned()).unwrap_or_else(|| default.to_owned());
    let separator = if back.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{back}{separator}ok={ok}")).into_response()
}

/// The message a redirect's `?ok=` names (a fixed list: nothing from the URL is shown as is).
pub fn success(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "action-creee" => "L'action a été créée. Le jeune la verra à sa prochaine synchronisation.",
        "action-modifiee" => "L'action a été enregistrée.",
        "statut-modifie" => "Le statut de l'action a été changé.",
        "commentaire-ajoute" => "Votre commentaire a été ajouté.",
        "action-qualifiee" => "L'action a été qualifiée.",
        "rdv-planifie" => "Le rendez-vous a été planifié. Le jeune en est informé.",
        "rdv-modifie" => "Le rendez-vous a été modifié. Le jeune en est informé.",
        "rdv-annule" => "Le rendez-vous a été annulé. Le jeune en est informé.",
        "rdv-clos" => "La présence du jeune a été enregistrée.",
        "notification-lue" => "La notification a été marquée comme lue.",
        "beneficiaire-archive" => "Le bénéficiaire a été archivé.",
        "compte-supprime" => "Le compte non activé a été supprimé, avec son dossier.",
        "message-envoye" => "Votre message a été envoyé.",
        "message-modifie" => "Votre message a été modifié.",
        "message-supprime" => "Votre message a été supprimé : « Message supprimé » s'affiche à sa place.",
        "messages-lus" => "Les messages ont été marqués comme lus.",
        "important-epingle" => "Le message important a été épinglé.",
        "important-retire" => "Le message important a été retiré.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use sync_core::Reason;

    use super::*;

    #[test]
    fn refusals_land_next_to_their_form_field() {
        let error = ApiError::Refused(vec![Reason::TooLong { field: "title".into(), max: 200 }, Reason::Qualified]);
        let errors = FieldErrors::from_api(&error, &[field("title", "titre", "Titre")]).unwrap();
        let message = errors.of("titre").unwrap();
        assert!(message.contains("200") && message.contains("« Titre »"), "{message}");
        assert!(errors.of("").is_some(), "a reason of no field is shown at the top");
        assert!(FieldErrors::from_api(&ApiError::NotFound, &[]).is_none());
    }
}
