//! The web console at `/console`: static pages embedded in the binary (`host/console/`),
//! nothing fetched from anywhere else. Every action the pages take is a call to the public
//! API with the signed-in key, so the console can do nothing the API forbids.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use super::{ApiError, conditional};

#[derive(RustEmbed)]
#[folder = "console/"]
struct Assets;

/// The pages may load only what the binary serves, and talk only to this server.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `/console` and `/console/`: the page that loads the console.
pub async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `/console/{path}`: a script, a style sheet; a route the page handles itself
/// (`/console/plans`) gets the page.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if Assets::get(&path).is_none() && !path.contains('.') {
        return serve("index.html", &headers);
    }
    serve(&path, &headers)
}

fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(file) = Assets::get(path) else {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such page").into_response();
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Revalidated on every load (an upgraded binary serves new pages at once), and
    // answered with 304 when unchanged.
    let etag = conditional::etag(&file.metadata.sha256_hash());
    if let Some(unchanged) = conditional::not_modified(request, &etag, &mut headers) {
        return unchanged;
    }
    let mime = file.metadata.mimetype();
    let mime = if mime.starts_with("text/") || mime.ends_with("javascript") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    if let Ok(mime) = HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    (headers, file.data.into_owned()).into_response()
}

#[cfg(test)]
mod tests {
    use super::Assets;

    #[test]
    fn every_module_the_console_imports_is_embedded() {
        let mut missing = Vec::new();
        for name in Assets::iter() {
            let Some(file) = Assets::get(&name) else {
                continue;
            };
            if !name.ends_with(".js") {
                continue;
            }
            let text = String::from_utf8_lossy(&file.data).into_owned();
            let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let Some(spec) = line.split('"').nth(1) else {
                    continue;
                };
                let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
                for seg in spec.split('/') {
                    match seg {
                        "." => {}
                        ".." => {
                            parts.pop();
                        }
                        s => parts.push(s),
                    }
                }
                let target = parts.join("/");
                if Assets::get(&target).is_none() {
                    missing.push(format!("{name} imports {spec}"));
                }
            }
        }
        assert!(missing.is_empty(), "{missing:?}");
        assert!(Assets::get("index.html").is_some());
    }

    /// The keys of a `words/*.js` dictionary (`  "plan.saved": "…",` or `  title: "…",`).
    fn words(file: &str) -> std::collections::BTreeSet<String> {
        let text = Assets::get(file).map(|f| String::from_utf8_lossy(&f.data).into_owned());
        (text.unwrap_or_default().lines())
            .filter_map(|line| line.strip_prefix("  ")?.split_once(": "))
            .map(|(key, _)| key.trim_matches('"').to_owned())
            .collect()
    }

    #[test]
    fn both_languages_have_every_word() {
        let (en, zh) = (words("words/en.js"), words("words/zh.js"));
        assert!(en.len() > 300, "{} English words", en.len());
        let only_en: Vec<_> = en.difference(&zh).collect();
        let only_zh: Vec<_> = zh.difference(&en).collect();
        assert!(
            only_en.is_empty() && only_zh.is_empty(),
            "{only_en:?} {only_zh:?}"
        );
    }
}
