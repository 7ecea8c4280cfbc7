//! The HTML of setup mode: one small page layout, with every value escaped.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::text::escape_html;

/// Referrer policy of the setup page: its form's POST to GitHub must carry a
/// real `Origin` (under `no-referrer` browsers send `Origin: null`).
pub(super) const INDEX_REFERRER_POLICY: &str = "strict-origin-when-cross-origin";

pub(super) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    page_with(status, title, body, "no-referrer")
}

pub(super) fn page_with(
    status: StatusCode,
    title: &str,
    body: &str,
    referrer_policy: &'static str,
) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · orcoursetrion</title>\n<style>\n\
         body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #1f2328; }}\n\
         code, pre {{ background: #f6f8fa; padding: 0.1rem 0.3rem; border-radius: 4px; }}\n\
         pre {{ padding: 0.8rem; overflow-x: auto; }}\n\
         dt {{ font-weight: 600; }}\n\
         button {{ font-size: 1.1rem; padding: 0.6rem 1.2rem; background: #1f883d; color: #fff; border: 0; border-radius: 6px; cursor: pointer; }}\n\
         .warn {{ background: #fff8c5; border: 1px solid #d4a72c; padding: 0.6rem 0.8rem; border-radius: 6px; }}\n\
         .err {{ background: #ffebe9; border: 1px solid #cf222e; padding: 0.6rem 0.8rem; border-radius: 6px; }}\n\
         .ok {{ background: #dafbe1; border: 1px solid #1a7f37; padding: 0.6rem 0.8rem; border-radius: 6px; }}\n\
         </style>\n</head>\n<body>\n<h1>{title}</h1>\n{body}\n</body>\n</html>\n",
        title = escape_html(title),
    );
    let mut resp = (status, html).into_response();
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // The callback URL carries the code: result pages never send it on
        // as a Referer.
        (header::REFERRER_POLICY, referrer_policy),
    ];
    let h = resp.headers_mut();
    for (name, value) in headers {
        h.insert(name, HeaderValue::from_static(value));
    }
    resp
}

pub(super) fn error_page(status: StatusCode, title: &str, message: &str, hint: &str) -> Response {
    let body = format!(
        "<p class=\"err\">{}</p>\n<p>{hint}</p>\n<p><a href=\"/\">Back to setup</a></p>",
        escape_html(message)
    );
    page(status, title, &body)
}
