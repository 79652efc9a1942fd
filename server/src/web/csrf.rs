//! Cross-site request forgery: every form the app posts carries a token that only a page of the
//! signed-in session can know, and a browser's own word on where the request comes from is checked.
//!
//! The token is derived from the session's secret (`SHA-256("csrf:" + session token)`): it changes
//! with every sign-in, dies with the session, and needs no storage. SameSite=Lax already keeps the
//! cookie off cross-site POSTs; the token and the origin check hold even where it does not.

use axum::http::{HeaderMap, header};

use crate::auth::tokens::hash_token;

/// The form field that carries the token.
pub const FIELD: &str = "csrf";

/// The token of a session.
pub fn token_for(session_token: &str) -> String {
    hash_token(&format!("csrf:{session_token}"))
}

/// Whether `presented` is the session's token (compared in constant time).
pub fn matches(session_token: &str, presented: &str) -> bool {
    let expected = token_for(session_token);
    expected.len() == presented.len()
        && expected.bytes().zip(presented.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Whether the browser says the request comes from one of our own pages: `Sec-Fetch-Site` when it
/// is sent (every current browser), else `Origin` against `Host`; a request with neither (an old
/// browser) relies on the token alone.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let origin_host = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    origin_host == Some(host)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_token_belongs_to_its_session() {
        let token = token_for("session-a");
        assert!(matches("session-a", &token));
        assert!(!matches("session-b", &token));
        assert!(!matches("session-a", ""));
        assert!(!matches("session-a", &token[1..]));
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        let mut headers = HeaderMap::new();
        assert!(same_origin(&headers), "no header at all: the token decides");
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(!same_origin(&headers));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&headers), "Sec-Fetch-Site wins when present");
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&headers));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(!same_origin(&headers), "a sibling site is not us");
    }
}
