//! A fake of Google's OAuth2 token endpoint and of FCM HTTP v1 `messages:send`, on loopback, for
//! the tests and the outbox drain benchmark (never started by the service).
//!
//! - `POST /token` checks the RS256 JWT-bearer assertion against the test key's public key
//!   (signature, `iss`, `aud` = this token URI, the firebase.messaging scope, `exp - iat ≤ 3600`)
//!   and issues `ya29.fake-N` tokens valid for an hour.
//! - `POST /v1/projects/{project}/messages:send` checks the bearer token (401 UNAUTHENTICATED
//!   otherwise, and after [`FakeFcm::revoke_access_tokens`]) and the message's shape, then
//!   answers by the device token's prefix with Google's real bodies: `dead…` 404 UNREGISTERED,
//!   `invalid…` 400 INVALID_ARGUMENT (the token), `payload…` 400 BadRequest, `sender…` 403
//!   SENDER_ID_MISMATCH, `busy-N…` 429 with `Retry-After: N`, `down…` 503; anything else 200.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use super::fcm::{AssertionClaims, SCOPE, ServiceAccountKey};

/// One message FCM accepted.
#[derive(Clone, Debug)]
pub struct Received {
    pub token: String,
    pub notification_id: String,
    pub kind: String,
    pub at: DateTime<Utc>,
}

struct FakeState {
    public_key: DecodingKey,
    project_id: String,
    client_email: String,
    token_uri: String,
    keep_messages: bool,
    token_requests: AtomicUsize,
    send_requests: AtomicUsize,
    valid: Mutex<HashSet<String>>,
    received: Mutex<Vec<Received>>,
    messages: Mutex<Vec<Value>>,
    problems: Mutex<Vec<String>>,
}

impl FakeState {
    fn problem(&self, p: String) {
        if let Ok(mut problems) = self.problems.lock() {
            problems.push(p);
        }
    }
}

/// The running fake (stopped when dropped).
pub struct FakeFcm {
    addr: SocketAddr,
    state: Arc<FakeState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeFcm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn google_error(status: StatusCode, message: &str, google_status: &str, details: Value) -> Response {
    let body =
        json!({"error": {"code": status.as_u16(), "message": message, "status": google_status, "details": details}});
    (status, Json(body)).into_response()
}

fn fcm_detail(code: &str) -> Value {
    json!([{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}])
}

impl FakeFcm {
    /// Starts the fake on 127.0.0.1 (a free port) for a service account whose public key is
    /// `public_key_pem`. `keep_messages`: keep every accepted message's JSON (tests), or only its ids.
    pub async fn start(
        public_key_pem: &[u8],
        project_id: &str,
        client_email: &str,
        keep_messages: bool,
    ) -> Result<FakeFcm, Box<dyn std::error::Error + Send + Sync>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(FakeState {
            public_key: DecodingKey::from_rsa_pem(public_key_pem)?,
            project_id: project_id.to_owned(),
            client_email: client_email.to_owned(),
            token_uri: format!("http://{addr}/token"),
            keep_messages,
            token_requests: AtomicUsize::new(0),
            send_requests: AtomicUsize::new(0),
            valid: Mutex::new(HashSet::new()),
            received: Mutex::new(Vec::new()),
            messages: Mutex::new(Vec::new()),
            problems: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/token", post(token))
            .route("/v1/projects/{project}/messages:send", post(send))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeFcm { addr, state, task })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn token_uri(&self) -> String {
        self.state.token_uri.clone()
    }

    /// A service-account key pointing at this fake.
    pub fn service_account(&self, private_key_pem: &str) -> ServiceAccountKey {
        ServiceAccountKey {
            project_id: self.state.project_id.clone(),
            client_email: self.state.client_email.clone(),
            private_key: private_key_pem.to_owned(),
            token_uri: self.token_uri(),
        }
    }

    pub fn token_requests(&self) -> usize {
        self.state.token_requests.load(Ordering::SeqCst)
    }

    /// Every `messages:send` request, whatever the answer.
    pub fn send_requests(&self) -> usize {
        self.state.send_requests.load(Ordering::SeqCst)
    }

    /// Makes every access token issued so far invalid (the next send gets a 401).
    pub fn revoke_access_tokens(&self) {
        if let Ok(mut valid) = self.state.valid.lock() {
            valid.clear();
        }
    }

    /// The messages accepted (200), in order.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn received_count(&self) -> usize {
        self.state.received.lock().map(|r| r.len()).unwrap_or_default()
    }

    /// The JSON of the accepted messages (when kept).
    pub fn messages(&self) -> Vec<Value> {
        self.state.messages.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// What the fake found wrong in the requests (bad JWT, bad message shape).
    pub fn problems(&self) -> Vec<String> {
        self.state.problems.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

fn form_value<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    body.split('&').find_map(|pair| pair.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
}

async fn token(State(state): State<Arc<FakeState>>, headers: HeaderMap, body: String) -> Response {
    state.token_requests.fetch_add(1, Ordering::SeqCst);
    let invalid = |state: &FakeState, why: String| {
        state.problem(format!("token request: {why}"));
        (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_grant", "error_description": why}))).into_response()
    };
    let form = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !form.starts_with("application/x-www-form-urlencoded") {
        return invalid(&state, format!("content type {form}"));
    }
    if form_value(&body, "grant_type") != Some("urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") {
        return invalid(&state, "grant_type".into());
    }
    let Some(assertion) = form_value(&body, "assertion") else {
        return invalid(&state, "no assertion".into());
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&state.token_uri]);
    validation.set_issuer(&[&state.client_email]);
    // The client's clock is the test's; the lifetime is checked below instead.
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "aud", "exp"]);
    let claims = match jsonwebtoken::decode::<AssertionClaims>(assertion, &state.public_key, &validation) {
        Ok(data) => data.claims,
        Err(e) => return invalid(&state, format!("Invalid JWT: {e}")),
    };
    if !claims.scope.split(' ').any(|s| s == SCOPE) {
        return invalid(&state, format!("scope {}", claims.scope));
    }
    if claims.exp <= claims.iat || claims.exp - claims.iat > 3600 {
        return invalid(&state, "lifetime over an hour".into());
    }
    let n = state.token_requests.load(Ordering::SeqCst);
    let access = format!("ya29.fake-{n}");
    if let Ok(mut valid) = state.valid.lock() {
        valid.insert(access.clone());
    }
    Json(json!({"access_token": access, "expires_in": 3599, "token_type": "Bearer"})).into_response()
}

/// What is wrong with a message, if anything.
fn shape_problems(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(top) = body.as_object() else {
        return vec!["body is not an object".into()];
    };
    if top.keys().any(|k| k != "message" && k != "validate_only") {
        out.push("unknown top-level field".into());
    }
    let m = &body["message"];
    if m["token"].as_str().is_none_or(str::is_empty) {
        out.push("message.token".into());
    }
    for f in ["title", "body"] {
        if !m["notification"][f].as_str().is_some_and(|t| !t.is_empty() && t.chars().count() <= 200) {
            out.push(format!("message.notification.{f}"));
        }
    }
    match m["data"].as_object() {
        Some(data) => {
            if data.values().any(|v| !v.is_string()) {
                out.push("message.data values must be strings".into());
            }
            if data.get("notification_id").and_then(Value::as_str).is_none_or(|id| uuid::Uuid::parse_str(id).is_err()) {
                out.push("message.data.notification_id".into());
            }
        }
        None => out.push("message.data".into()),
    }
    let ttl_ok = m["android"]["ttl"]
        .as_str()
        .and_then(|t| t.strip_suffix('s'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if !ttl_ok {
        out.push("message.android.ttl".into());
    }
    if !m["apns"]["headers"]["apns-expiration"].as_str().is_some_and(|e| e.bytes().all(|b| b.is_ascii_digit())) {
        out.push("message.apns.headers.apns-expiration".into());
    }
    out
}

async fn send(
    State(state): State<Arc<FakeState>>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    state.send_requests.fetch_add(1, Ordering::SeqCst);
    let bearer =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let known = bearer.is_some_and(|b| state.valid.lock().map(|v| v.contains(b)).unwrap_or(false));
    if !known {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other \
             valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            "UNAUTHENTICATED",
            json!([]),
        );
    }
    if project != state.project_id {
        return google_error(StatusCode::FORBIDDEN, "Permission denied.", "PERMISSION_DENIED", json!([]));
    }
    let parsed: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(e) => {
            state.problem(format!("send: not JSON ({e})"));
            return google_error(
                StatusCode::BAD_REQUEST,
                "Invalid JSON payload received.",
                "INVALID_ARGUMENT",
                json!([]),
            );
        }
    };
    let problems = shape_problems(&parsed);
    if !problems.is_empty() {
        state.problem(format!("send: {}", problems.join(", ")));
        let violations: Vec<Value> =
            problems.iter().map(|p| json!({"field": p, "description": "Invalid value"})).collect();
        return google_error(
            StatusCode::BAD_REQUEST,
            "Request contains an invalid argument.",
            "INVALID_ARGUMENT",
            json!([{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": violations}]),
        );
    }
    let m = &parsed["message"];
    let token = m["token"].as_str().unwrap_or_default().to_owned();
    if token.starts_with("dead") {
        return google_error(
            StatusCode::NOT_FOUND,
            "Requested entity was not found.",
            "NOT_FOUND",
            fcm_detail("UNREGISTERED"),
        );
    }
    if token.starts_with("invalid") {
        return google_error(
            StatusCode::BAD_REQUEST,
            "The registration token is not a valid FCM registration token",
            "INVALID_ARGUMENT",
            fcm_detail("INVALID_ARGUMENT"),
        );
    }
    if token.starts_with("payload") {
        return google_error(
            StatusCode::BAD_REQUEST,
            "Invalid value at 'message.data[0].value' (TYPE_STRING), 12",
            "INVALID_ARGUMENT",
            json!([{"@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": "message.data[0].value", "description": "Invalid value at 'message.data[0].value' (TYPE_STRING), 12"}]},
                   {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "INVALID_ARGUMENT"}]),
        );
    }
    if token.starts_with("sender") {
        return google_error(
            StatusCode::FORBIDDEN,
            "SenderId mismatch",
            "PERMISSION_DENIED",
            fcm_detail("SENDER_ID_MISMATCH"),
        );
    }
    if let Some(rest) = token.strip_prefix("busy-") {
        let secs: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let mut response = google_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Quota exceeded for quota metric 'Send requests' and limit 'Send requests per minute'.",
            "RESOURCE_EXHAUSTED",
            fcm_detail("QUOTA_EXCEEDED"),
        );
        if let Ok(v) = secs.parse() {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    if token.starts_with("down") {
        return google_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is currently unavailable.",
            "UNAVAILABLE",
            fcm_detail("UNAVAILABLE"),
        );
    }
    let data = &m["data"];
    let received = Received {
        token,
        notification_id: data["notification_id"].as_str().unwrap_or_default().to_owned(),
        kind: data["kind"].as_str().unwrap_or_default().to_owned(),
        at: Utc::now(),
    };
    let n = match state.received.lock() {
        Ok(mut r) => {
            r.push(received);
            r.len()
        }
        Err(_) => 0,
    };
    if state.keep_messages {
        if let Ok(mut messages) = state.messages.lock() {
            messages.push(parsed.clone());
        }
    }
    Json(json!({"name": format!("projects/{}/messages/0:{n}", state.project_id)})).into_response()
}
