//! FCM HTTP v1 for the young people's phones: a thin client of our own (the `fcm` crate speaks
//! only the legacy API that Google shut down in 2024; see
//! docs/decisions/2026-11-28-own-fcm-client.md).
//!
//! - OAuth2 service-account flow: an RS256 JWT assertion signed with the key file's
//!   `private_key` (`iss` = `client_email`, `scope` = firebase.messaging, `aud` = `token_uri`),
//!   exchanged at `token_uri`; the access token is cached until a minute before it expires.
//! - `POST {base_url}/v1/projects/{project_id}/messages:send`, one request per device token.
//! - Answers: 200 sent; 404 `UNREGISTERED`, 400 `INVALID_ARGUMENT` on the token, 403
//!   `SENDER_ID_MISMATCH` → the token is deleted; 401 → a new access token, once; 429, 500, 503
//!   (any 5xx), network errors → retry (after `Retry-After` when given); any other 4xx → failed.
//!
//! Both the base URL and the token URI are configurable, so the tests run against a local fake
//! ([`super::fcm_fake`]).

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Channel;
use super::push::{Delivery, PushChannel};
use crate::config::FcmConfig;
use crate::store::{DeviceToken, NotificationRow, Store};

/// The OAuth2 scope of `messages:send`.
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// An access token is renewed this long before it expires.
const TOKEN_MARGIN: chrono::Duration = chrono::Duration::seconds(60);
/// FCM keeps a message at most 4 weeks.
const MAX_TTL_SECS: i64 = 28 * 24 * 3600;
/// At most this much of an error body is kept in a reason.
const REASON_BYTES: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum FcmError {
    #[error("reading the FCM service-account key {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the FCM service-account key is not a service-account JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the FCM service-account key's private_key is not an RSA PEM key: {0}")]
    Key(#[from] jsonwebtoken::errors::Error),
    #[error("FCM: {0} must be an http(s) URL")]
    Url(&'static str),
    #[error("FCM HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// The fields of a Google service-account key file that the flow needs.
#[derive(Clone, Deserialize)]
pub struct ServiceAccountKey {
    pub project_id: String,
    pub client_email: String,
    pub private_key: String,
    pub token_uri: String,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountKey {
    pub fn from_file(path: &Path) -> Result<Self, FcmError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| FcmError::Read { path: path.display().to_string(), source })?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// The claims of the service-account assertion.
#[derive(Debug, Serialize, Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub scope: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone, Debug)]
struct AccessToken {
    value: String,
    expires_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
}

/// What came of sending one message to one device token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendResult {
    Sent,
    /// The token is dead (unregistered, invalid, another project's): delete it.
    TokenGone(String),
    /// Transient: try again, not before `after` when FCM said so.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// This request can never succeed.
    Failed(String),
}

/// A thin FCM HTTP v1 client.
pub struct FcmClient {
    http: reqwest::Client,
    client_email: String,
    token_uri: String,
    send_url: String,
    key: EncodingKey,
    token: tokio::sync::Mutex<Option<AccessToken>>,
}

impl std::fmt::Debug for FcmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmClient").field("send_url", &self.send_url).field("token_uri", &self.token_uri).finish()
    }
}

fn check_url(url: &str, what: &'static str) -> Result<(), FcmError> {
    if url.starts_with("https://") || url.starts_with("http://") { Ok(()) } else { Err(FcmError::Url(what)) }
}

impl FcmClient {
    /// A client for this key; `base_url` serves `messages:send`, `token_uri` (when given) replaces
    /// the key's.
    pub fn new(
        key: ServiceAccountKey,
        base_url: &str,
        token_uri: Option<String>,
        timeout: Duration,
    ) -> Result<Self, FcmError> {
        let token_uri = token_uri.unwrap_or(key.token_uri);
        check_url(&token_uri, "the token URI")?;
        check_url(base_url, "the base URL")?;
        let send_url = format!("{}/v1/projects/{}/messages:send", base_url.trim_end_matches('/'), key.project_id);
        let http = reqwest::Client::builder().timeout(timeout).connect_timeout(timeout).build()?;
        Ok(FcmClient {
            http,
            client_email: key.client_email,
            token_uri,
            send_url,
            key: EncodingKey::from_rsa_pem(key.private_key.as_bytes())?,
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// The client the configuration asks for; `None` without a key file.
    pub fn from_config(config: &FcmConfig) -> Result<Option<Self>, FcmError> {
        let Some(path) = &config.credentials else {
            return Ok(None);
        };
        let key = ServiceAccountKey::from_file(path)?;
        Self::new(key, &config.base_url, config.token_uri.clone(), Duration::from_secs(config.timeout_secs.max(1)))
            .map(Some)
    }

    /// The signed assertion exchanged for an access token.
    pub fn assertion(&self, now: DateTime<Utc>) -> Result<String, FcmError> {
        let claims = AssertionClaims {
            iss: self.client_email.clone(),
            scope: SCOPE.to_owned(),
            aud: self.token_uri.clone(),
            iat: now.timestamp(),
            exp: now.timestamp() + 3600,
        };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)?)
    }

    /// The cached access token, or a new one when there is none, it is about to expire, or it is
    /// `rejected` (FCM answered 401 to it).
    async fn access_token(&self, now: DateTime<Utc>, rejected: Option<&str>) -> Result<String, String> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref() {
            if now + TOKEN_MARGIN < t.expires_at && rejected != Some(t.value.as_str()) {
                return Ok(t.value.clone());
            }
        }
        let assertion = self.assertion(now).map_err(|e| e.to_string())?;
        let body = format!("grant_type={}&assertion={assertion}", JWT_BEARER.replace(':', "%3A"));
        let answer = self
            .http
            .post(&self.token_uri)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("token endpoint: {e}"))?;
        let status = answer.status();
        let text = answer.text().await.map_err(|e| format!("token endpoint: {e}"))?;
        if !status.is_success() {
            return Err(format!("token endpoint answered {}: {}", status.as_u16(), truncate(&text)));
        }
        let token: TokenAnswer =
            serde_json::from_str(&text).map_err(|e| format!("token endpoint: unreadable answer ({e})"))?;
        let lifetime = token.expires_in.unwrap_or(3600).clamp(0, 24 * 3600);
        *cached = Some(AccessToken {
            value: token.access_token.clone(),
            expires_at: now + chrono::Duration::seconds(lifetime),
        });
        Ok(token.access_token)
    }

    async fn post(&self, message: &Value, access_token: &str) -> Result<(u16, Option<String>, String), String> {
        let answer = self
            .http
            .post(&self.send_url)
            .bearer_auth(access_token)
            .json(message)
            .send()
            .await
            .map_err(|e| format!("FCM unreachable: {e}"))?;
        let status = answer.status().as_u16();
        let retry_after =
            answer.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = answer.text().await.unwrap_or_default();
        Ok((status, retry_after, body))
    }

    /// Sends one message (`{"message": {...}}`); on 401 renews the access token and tries once more.
    pub async fn send(&self, message: &Value, now: DateTime<Utc>) -> SendResult {
        let mut token = match self.access_token(now, None).await {
            Ok(t) => t,
            Err(reason) => return SendResult::Retry { after: None, reason },
        };
        let mut renewed = false;
        loop {
            let (status, retry_after, body) = match self.post(message, &token).await {
                Ok(answer) => answer,
                Err(reason) => return SendResult::Retry { after: None, reason },
            };
            if status == 401 && !renewed {
                renewed = true;
                token = match self.access_token(now, Some(&token)).await {
                    Ok(t) => t,
                    Err(reason) => return SendResult::Retry { after: None, reason },
                };
                continue;
            }
            return classify(status, retry_after.as_deref(), &body, now);
        }
    }
}

/// Google's error body: `{"error": {"code", "message", "status", "details": [...]}}`.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorInner,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorInner {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<Value>,
}

impl ErrorInner {
    /// `errorCode` of the `google.firebase.fcm.v1.FcmError` detail.
    fn fcm_code(&self) -> Option<&str> {
        self.details
            .iter()
            .find(|d| d["@type"].as_str().is_some_and(|t| t.ends_with("google.firebase.fcm.v1.FcmError")))
            .and_then(|d| d["errorCode"].as_str())
    }

    /// The fields named by a `google.rpc.BadRequest` detail (a payload of ours that FCM refuses).
    fn violations(&self) -> Vec<&str> {
        self.details
            .iter()
            .filter(|d| d["@type"].as_str().is_some_and(|t| t.ends_with("google.rpc.BadRequest")))
            .flat_map(|d| d["fieldViolations"].as_array().into_iter().flatten())
            .filter_map(|v| v["field"].as_str())
            .collect()
    }

    fn reason(&self, status: u16) -> String {
        let code = self.fcm_code().unwrap_or(&self.status);
        truncate(&format!("FCM {status} {code}: {}", self.message))
    }
}

fn truncate(text: &str) -> String {
    if text.len() <= REASON_BYTES {
        return text.to_owned();
    }
    let mut end = REASON_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The longest `Retry-After` taken into account (a longer one is cut to this).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// `Retry-After`: delay-seconds or an HTTP date (counted from `now`), at most [`MAX_RETRY_AFTER`].
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let after = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
            (at - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(after.min(MAX_RETRY_AFTER))
}

/// What an FCM answer means (see the module's documentation).
pub fn classify(status: u16, retry_after_header: Option<&str>, body: &str, now: DateTime<Utc>) -> SendResult {
    if (200..300).contains(&status) {
        return SendResult::Sent;
    }
    let error = serde_json::from_str::<ErrorBody>(body).unwrap_or_default().error;
    let reason = error.reason(status);
    let code = error.fcm_code();
    match status {
        404 if code == Some("UNREGISTERED") || code.is_none() => SendResult::TokenGone(reason),
        400 if code == Some("INVALID_ARGUMENT") => {
            let violations = error.violations();
            let on_token = violations.contains(&"message.token")
                || (violations.is_empty() && error.message.to_lowercase().contains("registration token"));
            if on_token { SendResult::TokenGone(reason) } else { SendResult::Failed(reason) }
        }
        403 if code == Some("SENDER_ID_MISMATCH") => SendResult::TokenGone(reason),
        // A second 401 (our credentials) or a third party's (APNs): transient for us, an operator
        // has to act, and the rows must not all become dead letters meanwhile.
        401 | 408 | 429 => SendResult::Retry { after: retry_after_header.and_then(|v| retry_after(v, now)), reason },
        500..=599 => SendResult::Retry { after: retry_after_header.and_then(|v| retry_after(v, now)), reason },
        _ => SendResult::Failed(reason),
    }
}

/// The `messages:send` body of one notification row to one device: the row's short French text,
/// its ids as strings, its TTL.
pub fn message(device: &DeviceToken, n: &NotificationRow, now: DateTime<Utc>) -> Value {
    let mut data = Map::new();
    data.insert("notification_id".into(), Value::String(n.id.to_string()));
    data.insert("kind".into(), Value::String(n.kind.clone()));
    if let Ok(Value::Object(payload)) = serde_json::from_str::<Value>(&n.payload) {
        for (k, v) in payload {
            let text = match v {
                Value::String(s) => s,
                Value::Null => continue,
                other => other.to_string(),
            };
            data.insert(k, Value::String(text));
        }
    }
    let ttl = (n.expires_at - now).num_seconds().clamp(1, MAX_TTL_SECS);
    json!({
        "message": {
            "token": device.token,
            "notification": {"title": n.title, "body": n.body},
            "data": data,
            "android": {"ttl": format!("{ttl}s"), "priority": "HIGH"},
            "apns": {
                "headers": {
                    "apns-expiration": (now.timestamp() + ttl).to_string(),
                    "apns-priority": "10",
                },
            },
        }
    })
}

/// The `mobile` rows' channel.
#[derive(Debug)]
pub struct FcmChannel {
    client: FcmClient,
}

impl FcmChannel {
    pub fn new(client: FcmClient) -> Self {
        FcmChannel { client }
    }

    pub fn client(&self) -> &FcmClient {
        &self.client
    }
}

#[async_trait::async_trait]
impl PushChannel for FcmChannel {
    fn channel(&self) -> Channel {
        Channel::Mobile
    }

    async fn deliver(&self, store: &dyn Store, notification: &NotificationRow, now: DateTime<Utc>) -> Delivery {
        let devices = match store.device_tokens_of(notification.recipient_id).await {
            Ok(d) => d,
            Err(e) => return Delivery::Retry { after: None, reason: format!("reading device tokens: {e}") },
        };
        let mut sent = false;
        let mut retry: Option<(Option<Duration>, String)> = None;
        let mut failed: Option<String> = None;
        for device in &devices {
            match self.client.send(&message(device, notification, now), now).await {
                SendResult::Sent => sent = true,
                SendResult::TokenGone(reason) => {
                    tracing::info!(device = %device.id, %reason, "FCM: device token deleted");
                    if let Err(e) = store.delete_device_token(&device.token, None).await {
                        tracing::warn!(device = %device.id, error = %e, "FCM: could not delete a dead token");
                    }
                }
                SendResult::Retry { after, reason } => {
                    let after = match (retry.as_ref().and_then(|r| r.0), after) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                    retry = Some((after, reason));
                }
                SendResult::Failed(reason) => failed = Some(reason),
            }
        }
        if sent {
            Delivery::Sent
        } else if let Some((after, reason)) = retry {
            Delivery::Retry { after, reason }
        } else if let Some(reason) = failed {
            Delivery::Failed { reason }
        } else {
            Delivery::NoTarget
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn google_error_bodies_are_classified() {
        let unregistered = r#"{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND",
            "details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}"#;
        assert!(matches!(classify(404, None, unregistered, now()), SendResult::TokenGone(_)));
        let bad_token = r#"{"error":{"code":400,"message":"The registration token is not a valid FCM registration token",
            "status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError",
            "errorCode":"INVALID_ARGUMENT"}]}}"#;
        assert!(matches!(classify(400, None, bad_token, now()), SendResult::TokenGone(_)));
        let bad_payload = r#"{"error":{"code":400,"message":"Invalid value at 'message.data[0].value' (TYPE_STRING), 1",
            "status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations":[{"field":"message.data[0].value","description":"Invalid value"}]},
            {"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"}]}}"#;
        assert!(matches!(classify(400, None, bad_payload, now()), SendResult::Failed(_)));
        let quota = r#"{"error":{"code":429,"message":"Quota exceeded.","status":"RESOURCE_EXHAUSTED",
            "details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"QUOTA_EXCEEDED"}]}}"#;
        assert_eq!(
            classify(429, Some("120"), quota, now()),
            SendResult::Retry {
                after: Some(Duration::from_secs(120)),
                reason: "FCM 429 QUOTA_EXCEEDED: Quota exceeded.".into()
            }
        );
        assert!(matches!(classify(503, None, "<html>", now()), SendResult::Retry { after: None, .. }));
        assert!(matches!(classify(403, None, "{}", now()), SendResult::Failed(_)));
        assert_eq!(classify(200, None, r#"{"name":"projects/p/messages/1"}"#, now()), SendResult::Sent);
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        assert_eq!(retry_after("30", now()), Some(Duration::from_secs(30)));
        let later = (now() + chrono::Duration::seconds(90)).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        assert_eq!(retry_after(&later, now()), Some(Duration::from_secs(90)));
        let past = (now() - chrono::Duration::seconds(90)).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        assert_eq!(retry_after(&past, now()), Some(Duration::ZERO));
        assert_eq!(retry_after("soon", now()), None);
        assert_eq!(retry_after("99999999999999999", now()), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn long_reasons_are_cut_on_a_character() {
        let text = "é".repeat(400);
        let cut = truncate(&text);
        assert!(cut.len() <= REASON_BYTES + "…".len());
    }
}
