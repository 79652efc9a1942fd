//! One error type for the HTTP API, answered as RFC 9457 `application/problem+json` with a stable
//! `type` per error; the JSON body and path extractors that turn bad input into such problems.

use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sync_core::{EditError, Reason};

use crate::auth::password::PasswordError;
use crate::auth::throttle::Refused;
use crate::store::StoreError;

/// One problem with one field of the input.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field, as a JSON path (`title`, `young_person_ids[2]`); empty for the whole body.
    pub field: String,
    /// Stable: `invalid`, `missing`, `too_long`, `qualified`… (the rulebook's reason codes).
    pub code: String,
    /// French text for people.
    pub message: String,
}

/// The body of every error answer.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentification requise")]
    Unauthorized,
    #[error("identifiants invalides")]
    InvalidCredentials,
    #[error("jeton de renouvellement invalide")]
    InvalidRefreshToken,
    #[error("code d'activation invalide ou expiré")]
    InvalidActivationCode,
    #[error("accès refusé")]
    Forbidden,
    #[error("ressource introuvable")]
    NotFound,
    #[error("requête mal formée : {0}")]
    BadRequest(String),
    #[error("données invalides")]
    Validation(Vec<FieldError>),
    #[error("modification refusée")]
    Refused(Vec<Reason>),
    #[error("{0}")]
    Conflict(String),
    #[error("corps de requête trop volumineux")]
    PayloadTooLarge,
    #[error("le corps de la requête n'est pas arrivé à temps")]
    RequestTimeout,
    #[error("type de contenu non pris en charge : application/json attendu")]
    UnsupportedMediaType,
    #[error("trop de sessions de synchronisation ouvertes pour ce compte")]
    TooManySessions,
    #[error("synchronisation refusée : {0}")]
    SyncRefused(String),
    #[error("trop de tentatives : réessayez dans {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("service momentanément surchargé : réessayez dans {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    #[error("erreur interne")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError {
            field: field.to_owned(),
            code: "invalid".into(),
            message: message.into(),
        }])
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Authentification requise"),
            ApiError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid-credentials", "Identifiants invalides"),
            ApiError::InvalidRefreshToken => {
                (StatusCode::UNAUTHORIZED, "invalid-refresh-token", "Jeton de renouvellement invalide")
            }
            ApiError::InvalidActivationCode => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid-activation-code", "Code d'activation invalide")
            }
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "Accès refusé"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not-found", "Introuvable"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "malformed-request", "Requête mal formée"),
            ApiError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation", "Données invalides"),
            ApiError::Refused(_) => (StatusCode::UNPROCESSABLE_ENTITY, "edit-refused", "Modification refusée"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflit"),
            ApiError::PayloadTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "Corps de requête trop volumineux")
            }
            ApiError::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request-timeout", "Délai de réception dépassé"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Type de contenu non pris en charge")
            }
            ApiError::TooManySessions => {
                (StatusCode::TOO_MANY_REQUESTS, "too-many-sessions", "Trop de sessions de synchronisation")
            }
            ApiError::SyncRefused(_) => (StatusCode::UNPROCESSABLE_ENTITY, "sync-refused", "Synchronisation refusée"),
            ApiError::TooManyAttempts { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too-many-attempts", "Trop de tentatives")
            }
            ApiError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy", "Service momentanément surchargé"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Erreur interne"),
        }
    }

    pub fn problem(&self) -> Problem {
        let (status, slug, title) = self.parts();
        let errors = match self {
            ApiError::Validation(errors) => errors.clone(),
            ApiError::Refused(reasons) => reasons
                .iter()
                .map(|r| FieldError {
                    field: r.field().unwrap_or_default().to_owned(),
                    code: r.code().to_owned(),
                    message: r.to_string(),
                })
                .collect(),
            _ => Vec::new(),
        };
        let detail = match self {
            // Internal details go to the log, never to the client.
            ApiError::Internal(_) => "Une erreur interne est survenue.".to_owned(),
            ApiError::Refused(reasons) => reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ; "),
            ApiError::Validation(errors) => {
                errors.iter().map(|e| format!("{} : {}", e.field, e.message)).collect::<Vec<_>>().join(" ; ")
            }
            other => other.to_string(),
        };
        Problem { kind: format!("/problems/{slug}"), title: title.to_owned(), status: status.as_u16(), detail, errors }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(message) = &self {
            tracing::error!(error = %message, "internal error");
        }
        let problem = self.problem();
        let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::TooManyAttempts { retry_after_secs } | ApiError::Busy { retry_after_secs } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ApiError::Conflict(format!("{what} déjà utilisé")),
            StoreError::NotFound(_) => ApiError::NotFound,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<PasswordError> for ApiError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Busy { retry_after_secs } => ApiError::Busy { retry_after_secs },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<Refused> for ApiError {
    fn from(r: Refused) -> Self {
        ApiError::TooManyAttempts { retry_after_secs: r.retry_after_secs }
    }
}

impl From<EditError> for ApiError {
    fn from(e: EditError) -> Self {
        match e {
            EditError::NotFound(_) => ApiError::NotFound,
            EditError::Refused(reasons) if reasons.contains(&Reason::NoAccess) => ApiError::Forbidden,
            EditError::Refused(reasons) => ApiError::Refused(reasons),
            EditError::Document(d) => ApiError::Internal(d.to_string()),
        }
    }
}

impl From<PathRejection> for ApiError {
    /// A path parameter that is not a valid id names nothing that exists.
    fn from(_: PathRejection) -> Self {
        ApiError::NotFound
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON body: malformed JSON is a 400, a well-formed body of the wrong shape a 422 naming the
/// field, a body over the limit a 413, another content type a 415. Always a problem answer.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| {
                let v = v.trim().to_ascii_lowercase();
                v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e: BytesRejection| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else if is_body_timeout(&e) {
                ApiError::RequestTimeout
            } else {
                ApiError::BadRequest(e.body_text())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Whether reading a body failed because the client took too long (the listener's body deadline).
pub fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Deserializes a JSON body, naming the failing field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(value) => Ok(value),
        Err(e) => {
            let field = e.path().to_string();
            let field = if field == "." { String::new() } else { field };
            let inner = e.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let message = inner.to_string();
                    let code = if message.starts_with("missing field") { "missing" } else { "invalid" };
                    // serde names a missing field in its message, not in the path.
                    let field = if code == "missing" {
                        message.split('`').nth(1).map(|f| join_path(&field, f)).unwrap_or(field)
                    } else {
                        field
                    };
                    Err(ApiError::Validation(vec![FieldError { field, code: code.into(), message }]))
                }
                _ => Err(ApiError::BadRequest(inner.to_string())),
            }
        }
    }
}

fn join_path(parent: &str, field: &str) -> String {
    if parent.is_empty() { field.to_owned() } else { format!("{parent}.{field}") }
}

/// Query parameters; a query string that does not parse (a missing or malformed parameter) is a
/// 422 problem naming the query.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::invalid("query", format!("paramètres invalides : {}", e.body_text())))
    }
}

/// Path parameters; one that does not parse (say, a malformed UUID) is a 404 problem.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|p| ApiPath(p.0)).map_err(ApiError::from)
    }
}
