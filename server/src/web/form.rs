//! Posted forms: `application/x-www-form-urlencoded` bodies, read field by field, with the CSRF
//! checks done before a handler sees them; and the ids of a page's path.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::state::AppState;

use super::csrf;
use super::errors::WebError;
use super::session::WebUser;

/// The fields of a posted form, in the order sent.
#[derive(Clone, Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Fields {
        Fields(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// The first value of a field, "" when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    /// A field's value trimmed, `None` when blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        let value = self.get(name).trim();
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// Every value of a field (checkboxes).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

async fn body_fields(req: Request, state: &AppState) -> Result<Fields, WebError> {
    let bytes = Bytes::from_request(req, state).await.map_err(|_| WebError::BadForm)?;
    Ok(Fields::parse(&bytes))
}

/// A form posted by a signed-in adviser from one of the app's own pages.
pub struct Posted {
    pub user: WebUser,
    pub fields: Fields,
}

impl FromRequest<AppState> for Posted {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if !csrf::same_origin(req.headers()) {
            return Err(WebError::CrossSite);
        }
        let (mut parts, body) = req.into_parts();
        let user = WebUser::from_request_parts(&mut parts, state).await?;
        let fields = body_fields(Request::from_parts(parts, body), state).await?;
        if !csrf::matches(&user.session_token, fields.get(csrf::FIELD)) {
            return Err(WebError::CrossSite);
        }
        Ok(Posted { user, fields })
    }
}

/// A form posted without a session (the sign-in form), from one of the app's own pages.
pub struct PublicForm(pub Fields);

impl FromRequest<AppState> for PublicForm {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if !csrf::same_origin(req.headers()) {
            return Err(WebError::CrossSite);
        }
        Ok(PublicForm(body_fields(req, state).await?))
    }
}

/// The ids of a page's path; one that does not parse is the 404 page, like an unknown id.
pub struct WebPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for WebPath<T> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| WebPath(value))
            .map_err(|_| WebError::NotFound)
    }
}
