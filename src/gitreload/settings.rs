//! gitreload's settings, read as gitreload 0.2.5 reads them (environment
//! variables, with its defaults), plus the json file of its older README and
//! the settings that only this implementation has (`ORC_GITRELOAD_*`).
//! Every bad value is collected, so one start-up names them all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::config::{Config, GitHubAuth};
use crate::naming::OrgName;
use crate::secret::Secret;

/// The keys gitreload reads, with its defaults.
const GITRELOAD_KEYS: &[(&str, &str)] = &[
    ("REPODIR", "/mnt/data/repos"),
    ("VIRTUAL_ENV", "/edx/app/edxapp/venvs/edxapp"),
    ("EDX_PLATFORM", "/edx/app/edxapp/edx-platform"),
    ("DJANGO_SETTINGS", "production"),
    ("LMS_CFG", "/edx/etc/lms.yml"),
    ("REVISION_CFG", "/edx/etc/revisions.yml"),
    ("NUM_THREADS", "1"),
    ("SUBPROCESS_TIMEOUT_MINUTES", "60"),
];

/// The App credentials the commit statuses are posted with.
#[derive(Clone)]
pub struct StatusCredentials {
    pub app_id: String,
    pub private_key: Secret,
    pub api_url: String,
}

impl std::fmt::Debug for StatusCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusCredentials")
            .field("app_id", &self.app_id)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

/// Everything `orcoursetrion gitreload` runs with.
#[derive(Debug, Clone)]
pub struct GitreloadSettings {
    pub repodir: PathBuf,
    pub virtual_env: PathBuf,
    pub edx_platform: PathBuf,
    pub django_settings: String,
    pub lms_cfg: String,
    pub revision_cfg: String,
    pub num_threads: usize,
    /// `SUBPROCESS_TIMEOUT_MINUTES`, or `ORC_GITRELOAD_TIMEOUT_S`.
    pub timeout: Duration,
    /// `LOG_LEVEL` as a tracing filter (`warn` when unset, as gitreload).
    pub log_filter: String,
    pub log_file: Option<PathBuf>,
    pub port: u16,
    /// `ORC_GITRELOAD_SECRET`, a comma list; empty only with `--allow-unsigned`.
    pub secrets: Vec<Secret>,
    /// `ORC_GITRELOAD_OWNERS`, lower-cased; empty accepts any owner.
    pub owners: Vec<String>,
    /// `ORC_GITRELOAD_DB`.
    pub database: String,
    pub statuses: Option<StatusCredentials>,
    /// The status context's host part (`gitreload/{host}`).
    pub host: String,
    /// Where the json file came from, if one was read.
    pub config_file: Option<PathBuf>,
}

/// The bad values, each with its name.
#[derive(Debug, thiserror::Error)]
#[error("gitreload is not configured correctly:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct SettingsError(pub Vec<String>);

/// Where settings come from: the environment (or a map in tests), the
/// directory `./gr.env.json` is looked for in, and the flags.
pub struct Sources<'a> {
    pub vars: &'a HashMap<String, String>,
    pub cwd: PathBuf,
    /// `--port`.
    pub port: Option<u16>,
    /// `--allow-unsigned`.
    pub allow_unsigned: bool,
}

/// The json file: `GITRELOAD_CONFIG`, else the first of `./gr.env.json`,
/// `~/gr.env.json`, `/etc/gr.env.json` that exists.
fn config_file(src: &Sources<'_>, problems: &mut Vec<String>) -> Option<(PathBuf, Value)> {
    let explicit = src.vars.get("GITRELOAD_CONFIG").filter(|v| !v.is_empty());
    let path = match explicit {
        Some(p) => PathBuf::from(p),
        None => {
            let mut candidates = vec![src.cwd.join("gr.env.json")];
            if let Some(home) = src.vars.get("HOME").filter(|h| !h.is_empty()) {
                candidates.push(Path::new(home).join("gr.env.json"));
            }
            candidates.push(PathBuf::from("/etc/gr.env.json"));
            candidates.into_iter().find(|p| p.is_file())?
        }
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            problems.push(format!(
                "GITRELOAD_CONFIG: cannot read {}: {e}",
                path.display()
            ));
            return None;
        }
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => Some((path, v)),
        Ok(_) => {
            problems.push(format!("{}: expected a JSON object", path.display()));
            None
        }
        Err(e) => {
            problems.push(format!("{}: not valid JSON: {e}", path.display()));
            None
        }
    }
}

struct Reader<'a> {
    vars: &'a HashMap<String, String>,
    file: Option<(PathBuf, Value)>,
    problems: Vec<String>,
}

impl Reader<'_> {
    /// An environment variable wins over the file; an empty one is unset.
    fn get(&mut self, key: &str) -> Option<String> {
        if let Some(v) = self.vars.get(key).filter(|v| !v.trim().is_empty()) {
            return Some(v.trim().to_string());
        }
        let (path, file) = self.file.as_ref()?;
        match file.get(key)? {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            other => {
                let msg = format!(
                    "{key} (in {}): expected a string, got {other}",
                    path.display()
                );
                self.problems.push(msg);
                None
            }
        }
    }

    fn or(&mut self, key: &str) -> String {
        let default = GITRELOAD_KEYS
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, d)| *d)
            .unwrap_or_default();
        self.get(key).unwrap_or_else(|| default.to_string())
    }

    fn whole<T: std::str::FromStr + PartialOrd + Copy>(&mut self, key: &str, min: T) -> Option<T> {
        let v = self.or(key);
        match v.parse::<T>() {
            Ok(n) if n >= min => Some(n),
            _ => {
                self.problems.push(format!(
                    "{key}: expected a whole number of at least 1, got {v:?}"
                ));
                None
            }
        }
    }
}

/// `LOG_LEVEL` (Python's names, any case) as a tracing filter.
fn log_filter(level: Option<&str>) -> Result<String, String> {
    let Some(level) = level else {
        return Ok("warn".into());
    };
    // sqlx logs every statement at debug: that is the store's business, not
    // what a host's LOG_LEVEL=DEBUG asks for.
    let base = match level.to_ascii_uppercase().as_str() {
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARNING" | "WARN" => "warn",
        "ERROR" | "CRITICAL" | "FATAL" => "error",
        _ => {
            return Err(format!(
                "LOG_LEVEL: expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got {level:?}"
            ))
        }
    };
    Ok(format!("{base},sqlx=warn"))
}

/// The machine's short host name (gitreload's `platform.node()` up to the first dot).
fn host_name(vars: &HashMap<String, String>) -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| vars.get("HOSTNAME").cloned())
        .unwrap_or_else(|| "localhost".into());
    let short = raw.trim().split('.').next().unwrap_or_default().to_string();
    if short.is_empty() {
        "localhost".into()
    } else {
        short
    }
}

impl GitreloadSettings {
    pub fn from_env(port: Option<u16>, allow_unsigned: bool) -> Result<Self, SettingsError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        GitreloadSettings::read(&Sources {
            vars: &vars,
            cwd,
            port,
            allow_unsigned,
        })
    }

    pub fn read(src: &Sources<'_>) -> Result<Self, SettingsError> {
        let mut problems = Vec::new();
        let file = config_file(src, &mut problems);
        let mut r = Reader {
            vars: src.vars,
            file,
            problems,
        };
        let path = |r: &mut Reader<'_>, key: &str| PathBuf::from(r.or(key));
        let repodir = path(&mut r, "REPODIR");
        let virtual_env = path(&mut r, "VIRTUAL_ENV");
        let edx_platform = path(&mut r, "EDX_PLATFORM");
        let django_settings = r.or("DJANGO_SETTINGS");
        if django_settings.contains(char::is_whitespace) {
            r.problems.push(format!(
                "DJANGO_SETTINGS: expected a settings module name, got {django_settings:?}"
            ));
        }
        let lms_cfg = r.or("LMS_CFG");
        let revision_cfg = r.or("REVISION_CFG");
        let num_threads = r.whole::<usize>("NUM_THREADS", 1).unwrap_or(1);
        let minutes = r
            .whole::<u64>("SUBPROCESS_TIMEOUT_MINUTES", 1)
            .unwrap_or(60);
        let mut timeout = Duration::from_secs(minutes.saturating_mul(60));
        if let Some(v) = r.get("ORC_GITRELOAD_TIMEOUT_S") {
            match v.parse::<f64>() {
                Ok(s) if s > 0.0 && s.is_finite() => timeout = Duration::from_secs_f64(s),
                _ => r.problems.push(format!(
                    "ORC_GITRELOAD_TIMEOUT_S: expected a number of seconds above 0, got {v:?}"
                )),
            }
        }
        let level = r.get("LOG_LEVEL");
        let log_filter = log_filter(level.as_deref()).unwrap_or_else(|e| {
            r.problems.push(e);
            "warn".into()
        });
        let log_file = r.get("LOG_FILE_PATH").map(PathBuf::from);
        let port = match src.port {
            Some(p) => p,
            None => match r
                .vars
                .get("PORT")
                .map(|p| p.trim())
                .filter(|p| !p.is_empty())
            {
                None => 5000,
                Some(p) => p.parse().unwrap_or_else(|_| {
                    r.problems
                        .push(format!("PORT: expected a port number, got {p:?}"));
                    5000
                }),
            },
        };
        let secrets = r
            .get("ORC_GITRELOAD_SECRET")
            .map(|v| Secret::list(&v))
            .unwrap_or_default();
        if secrets.is_empty() && !src.allow_unsigned {
            r.problems.push(
                "ORC_GITRELOAD_SECRET: not set; set it to the secret of the hooks \
                 (ORC_GITRELOAD_SECRET of the App), or pass --allow-unsigned to trust \
                 the network as gitreload did"
                    .into(),
            );
        }
        let mut owners = Vec::new();
        for o in r
            .get("ORC_GITRELOAD_OWNERS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
        {
            match OrgName::parse(o) {
                Ok(_) => owners.push(o.to_ascii_lowercase()),
                Err(e) => r.problems.push(format!("ORC_GITRELOAD_OWNERS: {e}")),
            }
        }
        let database = r
            .get("ORC_GITRELOAD_DB")
            .unwrap_or_else(|| "./gitreload.db".into());
        let statuses = if r
            .vars
            .get("ORC_APP_ID")
            .is_some_and(|v| !v.trim().is_empty())
        {
            match Config::from_vars(r.vars) {
                Ok(Config {
                    auth:
                        Some(GitHubAuth::App {
                            app_id,
                            private_key,
                            ..
                        }),
                    api_url,
                    ..
                }) => Some(StatusCredentials {
                    app_id,
                    private_key,
                    api_url,
                }),
                Ok(_) => None,
                Err(e) => {
                    r.problems
                        .push(format!("App credentials for commit statuses: {e}"));
                    None
                }
            }
        } else {
            None
        };
        let config_file = r.file.as_ref().map(|(p, _)| p.clone());
        if !r.problems.is_empty() {
            return Err(SettingsError(r.problems));
        }
        Ok(GitreloadSettings {
            repodir,
            virtual_env,
            edx_platform,
            django_settings,
            lms_cfg,
            revision_cfg,
            num_threads,
            timeout,
            log_filter,
            log_file,
            port,
            secrets,
            owners,
            database,
            statuses,
            host: host_name(src.vars),
            config_file,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)], cwd: &Path) -> Result<GitreloadSettings, SettingsError> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        GitreloadSettings::read(&Sources {
            vars: &vars,
            cwd: cwd.to_path_buf(),
            port: None,
            allow_unsigned: false,
        })
    }

    #[test]
    fn defaults_are_gitreloads() {
        let dir = tempfile::tempdir().expect("tmp");
        let s = read(&[("ORC_GITRELOAD_SECRET", "a, b")], dir.path()).expect("settings");
        assert_eq!(s.repodir, Path::new("/mnt/data/repos"));
        assert_eq!(s.virtual_env, Path::new("/edx/app/edxapp/venvs/edxapp"));
        assert_eq!(s.edx_platform, Path::new("/edx/app/edxapp/edx-platform"));
        assert_eq!(s.django_settings, "production");
        assert_eq!(
            (s.lms_cfg.as_str(), s.revision_cfg.as_str()),
            ("/edx/etc/lms.yml", "/edx/etc/revisions.yml")
        );
        assert_eq!((s.num_threads, s.port), (1, 5000));
        assert_eq!(s.timeout, Duration::from_secs(3600));
        assert_eq!(s.log_filter, "warn");
        assert_eq!(s.secrets.len(), 2);
    }

    #[test]
    fn the_json_file_fills_in_and_the_environment_wins() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(
            dir.path().join("gr.env.json"),
            r#"{"REPODIR": "/srv/repos", "NUM_THREADS": 3, "DJANGO_SETTINGS": "aws", "LOG_LEVEL": null}"#,
        )
        .expect("write");
        let s = read(
            &[
                ("ORC_GITRELOAD_SECRET", "x"),
                ("DJANGO_SETTINGS", "devstack"),
            ],
            dir.path(),
        )
        .expect("settings");
        assert_eq!(s.repodir, Path::new("/srv/repos"));
        assert_eq!(s.num_threads, 3);
        assert_eq!(s.django_settings, "devstack");
        assert_eq!(s.config_file, Some(dir.path().join("gr.env.json")));
    }

    #[test]
    fn every_bad_value_is_named() {
        let dir = tempfile::tempdir().expect("tmp");
        let err = read(
            &[
                ("NUM_THREADS", "zero"),
                ("SUBPROCESS_TIMEOUT_MINUTES", "1.5"),
                ("ORC_GITRELOAD_TIMEOUT_S", "-1"),
                ("LOG_LEVEL", "loud"),
                ("PORT", "http"),
                ("ORC_GITRELOAD_OWNERS", "mitx,../x"),
                ("GITRELOAD_CONFIG", "/nonexistent/gr.env.json"),
            ],
            dir.path(),
        )
        .expect_err("bad");
        let text = err.to_string();
        for name in [
            "NUM_THREADS",
            "SUBPROCESS_TIMEOUT_MINUTES",
            "ORC_GITRELOAD_TIMEOUT_S",
            "LOG_LEVEL",
            "PORT",
            "ORC_GITRELOAD_OWNERS",
            "GITRELOAD_CONFIG",
            "ORC_GITRELOAD_SECRET",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }

    #[test]
    fn seconds_override_minutes() {
        let dir = tempfile::tempdir().expect("tmp");
        let s = read(
            &[
                ("ORC_GITRELOAD_SECRET", "x"),
                ("SUBPROCESS_TIMEOUT_MINUTES", "2"),
                ("ORC_GITRELOAD_TIMEOUT_S", "0.5"),
            ],
            dir.path(),
        )
        .expect("settings");
        assert_eq!(s.timeout, Duration::from_millis(500));
    }
}
