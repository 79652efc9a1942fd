//! Static files: the design system (DSFR, from its npm package, never committed) and our own
//! script, style and service worker (embedded in the binary). Both are served under URLs that
//! change with their content — the DSFR version, a hash of our files — so browsers keep them for a
//! year; the service worker alone keeps a fixed URL (its scope is the whole app) and is revalidated.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path as UrlPath;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::auth::tokens::hash_token;
use crate::state::AppState;

/// The DSFR version `server/web/package.json` pins (a test checks that they agree).
pub const DSFR_VERSION: &str = "1.15.3";

const LONG_CACHE: &str = "public, max-age=31536000, immutable";

/// One of our own files, embedded.
struct OwnFile {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const OWN_FILES: [OwnFile; 2] = [
    OwnFile {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/static/app.js"),
    },
    OwnFile {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../web/static/app.css"),
    },
];

const SERVICE_WORKER: &str = include_str!("../../web/static/sw.js");

/// The DSFR icon families the pages use (`fr-icon-…` classes): only their style sheets are linked,
/// not the 356 KB of every icon. A test checks that every icon of the templates is in one of them.
pub const ICON_FAMILIES: [&str; 5] = ["arrows", "business", "media", "system", "user"];

/// The URLs a page links to.
pub struct Assets {
    pub icon_families: &'static [&'static str],
    /// The DSFR `dist/` folder's URL, e.g. `/static/dsfr/1.15.3`.
    pub dsfr: String,
    pub app_js: String,
    pub app_css: String,
    /// The hash in our files' URLs (of all of them together).
    hash: String,
}

static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    let all: String = OWN_FILES.iter().map(|f| f.body).collect();
    let hash = hash_token(&all)[..12].to_owned();
    Assets {
        icon_families: &ICON_FAMILIES,
        dsfr: format!("/static/dsfr/{DSFR_VERSION}"),
        app_js: format!("/static/app/{hash}/app.js"),
        app_css: format!("/static/app/{hash}/app.css"),
        hash,
    }
});

pub fn current() -> &'static Assets {
    &ASSETS
}

/// Where the DSFR files are: the configured folder, or the npm install in the source tree.
pub fn dsfr_dir(configured: Option<&Path>) -> PathBuf {
    configured
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("web/node_modules/@gouvfr/dsfr/dist"))
}

/// Says at start-up when the design system's files are missing (the pages then show unstyled).
pub fn check_dsfr(configured: Option<&Path>) {
    let dir = dsfr_dir(configured);
    if dir.join("dsfr.main.min.css").is_file() {
        tracing::info!(dir = %dir.display(), "web app: DSFR {DSFR_VERSION} served from this folder");
    } else {
        tracing::warn!(
            dir = %dir.display(),
            "web app: the DSFR files are missing, pages will show without style: run `npm ci --ignore-scripts` in server/web"
        );
    }
}

async fn own_file(UrlPath((hash, name)): UrlPath<(String, String)>) -> Response {
    let assets = current();
    match OWN_FILES.iter().find(|f| f.name == name) {
        Some(file) if hash == assets.hash => {
            ([(header::CONTENT_TYPE, file.content_type), (header::CACHE_CONTROL, LONG_CACHE)], file.body)
                .into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("service-worker-allowed"), "/"),
        ],
        SERVICE_WORKER,
    )
        .into_response()
}

/// Pages and files go out gzip-compressed when the browser accepts it (the event streams never:
/// tower-http leaves `text/event-stream` alone).
pub fn compression() -> tower_http::compression::CompressionLayer {
    tower_http::compression::CompressionLayer::new().gzip(true)
}

pub fn router(state: &AppState) -> Router<AppState> {
    let dsfr = ServeDir::new(dsfr_dir(state.config.web.dsfr_dir.as_deref()));
    Router::new().route("/static/app/{hash}/{name}", get(own_file)).route("/sw.js", get(service_worker)).nest_service(
        &format!("/static/dsfr/{DSFR_VERSION}"),
        tower::ServiceBuilder::new()
            .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static(LONG_CACHE)))
            .service(dsfr),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_dsfr_version_is_the_one_served() {
        let package = include_str!("../../web/package.json");
        let manifest: serde_json::Value = serde_json::from_str(package).unwrap();
        assert_eq!(manifest["dependencies"]["@gouvfr/dsfr"], DSFR_VERSION);
    }

    /// Every `fr-icon-…` class of the templates is in a linked family (when the DSFR is installed).
    #[test]
    fn every_icon_used_is_in_a_linked_family() {
        let dist = dsfr_dir(None);
        if !dist.is_dir() {
            eprintln!("SKIPPED: the DSFR is not installed (scripts/web-assets)");
            return;
        }
        let linked: String = ICON_FAMILIES
            .iter()
            .map(|f| {
                std::fs::read_to_string(dist.join(format!("utility/icons/icons-{f}/icons-{f}.main.min.css"))).unwrap()
            })
            .collect();
        let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/web");
        for entry in std::fs::read_dir(templates).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for (at, _) in text.match_indices("fr-icon-") {
                let icon: String = text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
                assert!(linked.contains(&format!(".{icon}")), "{icon} is in no linked icon family");
            }
        }
    }

    #[test]
    fn our_urls_change_with_our_files() {
        let assets = current();
        assert_eq!(assets.hash.len(), 12);
        assert!(assets.app_js.contains(&assets.hash));
    }
}
