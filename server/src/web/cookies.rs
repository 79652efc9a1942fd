//! The browser session's cookie: read from `Cookie`, written with `Set-Cookie`.
//!
//! HttpOnly (no script reads it), SameSite=Lax (not sent on cross-site POSTs), `Secure` when the
//! app is served over https, `Path=/`, and a lifetime equal to the session's.

use axum::http::{HeaderMap, HeaderValue, header};

/// The cookie that carries the browser session's token.
pub const SESSION_COOKIE: &str = "pe_session";

/// The value of cookie `name` in the request, if any (the first one sent).
pub fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty() && value.len() <= 256)
}

/// `Set-Cookie` for a new session.
pub fn session(token: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("pe_session=; Path=/; Max-Age=0"))
}

/// `Set-Cookie` that removes the session cookie.
pub fn cleared(secure: bool) -> HeaderValue {
    if secure {
        HeaderValue::from_static("pe_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure")
    } else {
        HeaderValue::from_static("pe_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
    }
}

/// Whether the request reached us over https: the configuration says so, or a trusted reverse
/// proxy does (`X-Forwarded-Proto: https`, only with `--trust-forwarded-for`).
pub fn over_https(headers: &HeaderMap, secure_cookies: bool, trust_forwarded: bool) -> bool {
    secure_cookies
        || (trust_forwarded
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_named_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; pe_session=abc ; b=2"));
        assert_eq!(read(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(read(&headers, "missing"), None);
        headers.insert(header::COOKIE, HeaderValue::from_static("pe_session="));
        assert_eq!(read(&headers, SESSION_COOKIE), None);
    }

    #[test]
    fn session_cookie_is_http_only_and_lax() {
        let value = session("tok", 3600, true);
        let text = value.to_str().unwrap();
        assert!(text.starts_with("pe_session=tok;"));
        for part in ["HttpOnly", "SameSite=Lax", "Secure", "Max-Age=3600", "Path=/"] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
        assert!(!session("tok", 60, false).to_str().unwrap().contains("Secure"));
    }
}
