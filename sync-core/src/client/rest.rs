//! The REST calls a phone makes outside sync: login, activation, token refresh, logout, who am I,
//! the deletion of the young person's account, and the registration of its push token. Bodies and answers as in docs/api.md.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// A REST call that did not succeed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RestError {
    /// The server could not be reached (no network, timeout, connection cut).
    #[error("serveur injoignable : {0}")]
    Network(String),
    /// 401: wrong credentials, or an expired or revoked token.
    #[error("{0}")]
    Unauthorized(String),
    /// Any other refusal, with the server's French explanation (RFC 9457 `detail`).
    #[error("{detail}")]
    Refused { status: u16, detail: String },
    #[error("réponse inattendue du serveur : {0}")]
    BadResponse(String),
}

/// The tokens of a session (`POST /api/v1/auth/login` and `/refresh`). The app keeps them in the
/// platform's secure storage (Keystore, Keychain), never in the plan's folder.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Session {
    pub access_token: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
    pub refresh_token: String,
    pub user: SessionUser,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SessionUser {
    pub id: Uuid,
    pub role: String,
}

/// `GET /api/v1/me`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Me {
    pub id: Uuid,
    pub role: String,
    pub first_name: String,
    /// The young person's plan (automerge-repo document id); absent for staff.
    pub plan_document_id: Option<String>,
    /// The young person's conversation with their advisers (automerge-repo document id); absent
    /// for staff, and from servers older than the conversation.
    #[serde(default)]
    pub conversation_document_id: Option<String>,
    /// IANA zone (the agenda's days).
    pub timezone: Option<String>,
}

/// The phone's platform, for its push token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Android,
    Ios,
}

#[derive(Deserialize)]
struct Problem {
    #[serde(default)]
    detail: String,
    #[serde(default)]
    title: String,
}

/// The REST side of one server.
#[derive(Clone, Debug)]
pub struct Rest {
    base: String,
    http: reqwest::Client,
}

impl Rest {
    pub fn new(server_url: &str) -> Result<Rest, RestError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| RestError::Network(e.to_string()))?;
        Ok(Rest { base: server_url.trim_end_matches('/').to_owned(), http })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<Session, RestError> {
        self.post("/api/v1/auth/login", None, json!({"email": email, "password": password})).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, RestError> {
        self.post("/api/v1/auth/refresh", None, json!({"refresh_token": refresh_token})).await
    }

    /// Sets the first password with the activation code the adviser gave.
    pub async fn activate(&self, activation_code: &str, password: &str) -> Result<(), RestError> {
        let body = json!({"activation_code": activation_code, "password": password});
        self.post::<serde_json::Value>("/api/v1/auth/activate", None, body).await.map(drop)
    }

    /// Revokes the session on the server (its access and refresh tokens).
    pub async fn logout(&self, access_token: &str) -> Result<(), RestError> {
        let response = self.send(self.http.post(self.url("/api/v1/auth/logout")).bearer_auth(access_token)).await?;
        expect_success(response).await.map(drop)
    }

    /// `DELETE /api/v1/me`: deletes the young person's own account on the server (plan, tokens,
    /// devices); 204 on success, every later call with the token then gets 401. A 403 (not a
    /// young person) is a [`RestError::Refused`], a 401 a [`RestError::Unauthorized`].
    pub async fn delete_account(&self, access_token: &str) -> Result<(), RestError> {
        let response = self.send(self.http.delete(self.url("/api/v1/me")).bearer_auth(access_token)).await?;
        expect_success(response).await.map(drop)
    }

    pub async fn me(&self, access_token: &str) -> Result<Me, RestError> {
        let response = self.send(self.http.get(self.url("/api/v1/me")).bearer_auth(access_token)).await?;
        decode(expect_success(response).await?).await
    }

    /// `POST /api/v1/devices`: where the server sends this phone's notifications.
    pub async fn register_device(&self, access_token: &str, platform: Platform, token: &str) -> Result<(), RestError> {
        let body = json!({"platform": platform, "token": token});
        self.post::<serde_json::Value>("/api/v1/devices", Some(access_token), body).await.map(drop)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        token: Option<&str>,
        body: serde_json::Value,
    ) -> Result<T, RestError> {
        let mut request = self.http.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        decode(expect_success(self.send(request).await?).await?).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, RestError> {
        request.send().await.map_err(|e| RestError::Network(e.to_string()))
    }
}

/// The response if it is a success; otherwise the server's problem as an error.
pub async fn expect_success(response: reqwest::Response) -> Result<reqwest::Response, RestError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let problem: Option<Problem> = response.json().await.ok();
    let detail = problem
        .map(|p| if p.detail.is_empty() { p.title } else { p.detail })
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| status.to_string());
    Err(if status == reqwest::StatusCode::UNAUTHORIZED {
        RestError::Unauthorized(detail)
    } else {
        RestError::Refused { status: status.as_u16(), detail }
    })
}

async fn decode<T: for<'de> Deserialize<'de>>(response: reqwest::Response) -> Result<T, RestError> {
    let bytes = response.bytes().await.map_err(|e| RestError::Network(e.to_string()))?;
    let bytes = if bytes.is_empty() { b"null".as_slice().into() } else { bytes };
    serde_json::from_slice(&bytes).map_err(|e| RestError::BadResponse(e.to_string()))
}
