//! Logging for both server modes: every line passes through
//! `secret::redact` on its way out, so a token that reaches a log message
//! never reaches the log.

use crate::config::LogFormat;

/// Structured logs: `ORC_LOG_FORMAT=json` for machines, `pretty` for people.
/// `RUST_LOG` filters (default `info`). Every line is redacted on its way out.
/// `spans`: one more line as each span closes, with its `time.busy` and
/// `time.idle` (`ORC_LOG_SPANS`; what `loadgen --spans` sums up). The spans
/// that only serve that profile (target [`PROFILE_TARGET`]) are turned off
/// otherwise, so the webhook's hot path does not pay for them.
pub fn init_logging(format: LogFormat, spans: bool) {
    use tracing_subscriber::fmt::format::FmtSpan;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // PostgreSQL's notices ("relation … already exists, skipping") are
        // not news.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx::postgres::notice=warn"));
    let filter = match format!("{PROFILE_TARGET}=off").parse() {
        Ok(off) if !spans => filter.add_directive(off),
        _ => filter,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_span_events(if spans { FmtSpan::CLOSE } else { FmtSpan::NONE })
        .with_writer(|| Redacting(std::io::stdout()));
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// The target of the spans that exist for `ORC_LOG_SPANS` only (written as
/// this literal at each of them: `tracing`'s macros take no constant).
const PROFILE_TARGET: &str = "orc_profile";

/// Logging for `gitreload`: `filter` (from `LOG_LEVEL`; `RUST_LOG` wins) to
/// stderr, or appended to `file` (`LOG_FILE_PATH`), redacted as ever.
pub fn init_logging_to(filter: &str, file: Option<std::fs::File>) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(file.is_none());
    let _ = match file {
        Some(f) => {
            let f = std::sync::Arc::new(f);
            builder
                .with_writer(move || Redacting(SharedFile(f.clone())))
                .try_init()
        }
        None => builder
            .with_writer(|| Redacting(std::io::stderr()))
            .try_init(),
    };
}

/// An append-only log file shared by every log line.
struct SharedFile(std::sync::Arc<std::fs::File>);

impl std::io::Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        (&*self.0).flush()
    }
}

/// A log writer that passes every line through `secret::redact`.
struct Redacting<W>(W);

impl<W: std::io::Write> std::io::Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(crate::secret::redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn log_lines_are_redacted_on_the_way_out() {
        let _held = crate::secret::Secret::new("ghs_installationtoken123");
        let mut out = Redacting(Vec::new());
        writeln!(
            out,
            "calling https://gr:stagingpw@staging.example.edu/x with ghs_installationtoken123"
        )
        .expect("write");
        let text = String::from_utf8(out.0).expect("utf8");
        assert_eq!(text, "calling https://***@staging.example.edu/x with ***\n");
    }
}
