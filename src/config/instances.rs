//! The database (`ORC_DATABASE_URL`), this process as one instance among
//! several on it (`ORC_INSTANCE`, `ORC_LEASE_SECS`), and what it keeps and
//! recovers (`ORC_REDELIVER_EVERY`, `ORC_RETENTION_DAYS`).

use std::time::Duration;

use super::Reader;
use crate::secret::Secret;
use crate::store::Durability;

/// `ORC_DATABASE_URL`, kept as a secret: a postgres:// URL may hold a password.
pub(super) fn database_url(r: &mut Reader<'_>) -> Secret {
    let url = r.or("ORC_DATABASE_URL", "sqlite://orcoursetrion.db");
    let known = ["sqlite:", "postgres://", "postgresql://"];
    if !known.iter().any(|k| url.starts_with(k)) {
        // The value is not shown: it may hold a password.
        r.problem(
            "ORC_DATABASE_URL",
            "expected sqlite://PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DB",
        );
    }
    Secret::new(url)
}

/// How this process shares its database with other instances, and how long
/// it keeps what it stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSettings {
    /// `ORC_INSTANCE`: the name in leases, logs and metrics. Set it to take
    /// back this instance's leases at once after a restart; unset, it is the
    /// hostname plus the process id.
    pub name: Option<String>,
    /// `ORC_LEASE_SECS`: how long a claimed job stays claimed without a
    /// renewal (renewed every third of it); also how fresh a heartbeat is.
    pub lease: Duration,
    /// `ORC_REDELIVER_EVERY`: how often missed deliveries are looked for
    /// (`off`: never).
    pub redeliver_every: Option<Duration>,
    /// `ORC_RETENTION_DAYS`: how long delivery bodies and finished jobs are kept.
    pub retention_days: u64,
    /// `ORC_WRITES_PER_MINUTE`: content-creating GitHub calls per installation
    /// and minute, shared by every instance (GitHub asks for at most 80).
    pub writes_per_minute: usize,
    /// `ORC_KEEP_BODIES`: keep every delivery's body for debugging (bodies
    /// that did not parse are always kept).
    pub keep_bodies: bool,
    /// `ORC_DURABILITY`: what an acknowledged delivery survives on SQLite
    /// (see `Durability`).
    pub durability: Durability,
}

/// A duration such as `90s`, `15m`, `1h` or `2d`; a bare number is seconds.
pub(super) fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (n, unit) = v.split_at(split);
    let n: u64 = n.parse().ok()?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

pub(super) fn read(r: &mut Reader<'_>) -> InstanceSettings {
    let instance = r.opt("ORC_INSTANCE");
    if let Some(name) = &instance {
        let ok = name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            r.problem(
                "ORC_INSTANCE",
                "expected up to 64 letters, digits, '-', '_' or '.'",
            );
        }
    }
    let redeliver_every = match r.opt("ORC_REDELIVER_EVERY") {
        None => Some(Duration::from_secs(3600)),
        Some(v) if matches!(v.to_ascii_lowercase().as_str(), "off" | "0" | "never") => None,
        Some(v) => match parse_duration(&v) {
            Some(d) if d >= Duration::from_secs(60) => Some(d),
            _ => {
                r.problem(
                    "ORC_REDELIVER_EVERY",
                    format!("expected a duration of at least 1m such as 15m, 1h or 6h, or off; got {v:?}"),
                );
                None
            }
        },
    };
    InstanceSettings {
        name: instance,
        lease: Duration::from_secs(r.number("ORC_LEASE_SECS", 60, 3..=3600)),
        redeliver_every,
        retention_days: r.number("ORC_RETENTION_DAYS", 14, 1..=3650),
        writes_per_minute: r.number("ORC_WRITES_PER_MINUTE", 80, 1..=100_000) as usize,
        keep_bodies: r.bool("ORC_KEEP_BODIES", false),
        durability: r.word("ORC_DURABILITY", Durability::PowerLoss, Durability::ALL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> (InstanceSettings, Vec<String>) {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut r = Reader {
            vars: &vars,
            problems: Vec::new(),
        };
        let s = read(&mut r);
        (s, r.problems)
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("2d"), Some(Duration::from_secs(172_800)));
        for bad in ["", "h", "1w", "-1h", "1.5h", "1 hour"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn defaults_and_each_bad_value_named() {
        let (s, problems) = settings(&[]);
        assert!(problems.is_empty());
        assert_eq!(s.name, None);
        assert_eq!(s.lease, Duration::from_secs(60));
        assert_eq!(s.redeliver_every, Some(Duration::from_secs(3600)));
        assert_eq!(s.retention_days, 14);
        assert_eq!(s.durability, Durability::PowerLoss);
        let (s, _) = settings(&[
            ("ORC_REDELIVER_EVERY", "off"),
            ("ORC_INSTANCE", "fly-a.1"),
            ("ORC_DURABILITY", "Crash"),
        ]);
        assert_eq!(s.redeliver_every, None);
        assert_eq!(s.durability, Durability::Crash);
        assert_eq!(s.name.as_deref(), Some("fly-a.1"));
        let (_, problems) = settings(&[
            ("ORC_INSTANCE", "a/b"),
            ("ORC_LEASE_SECS", "1"),
            ("ORC_REDELIVER_EVERY", "10s"),
            ("ORC_RETENTION_DAYS", "0"),
            ("ORC_DURABILITY", "fsync"),
        ]);
        let named: Vec<&str> = problems
            .iter()
            .map(|p| p.split(':').next().unwrap_or_default())
            .collect();
        assert!(
            problems[4].ends_with(r#"expected power-loss or crash, got "fsync""#),
            "{problems:?}"
        );
        assert_eq!(
            named,
            [
                "ORC_INSTANCE",
                "ORC_REDELIVER_EVERY",
                "ORC_LEASE_SECS",
                "ORC_RETENTION_DAYS",
                "ORC_DURABILITY"
            ]
        );
    }
}
