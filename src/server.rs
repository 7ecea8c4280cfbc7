//! `orcoursetrion serve`: the webhook router, the store, the workers and the
//! audit log, started together; or setup mode when there are no App
//! credentials yet.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::{Config, GitHubAuth};
use crate::github::{AppCredentials, CallObserver, CallRecord, ClientConfig, GitHub, GitHubError};
use crate::http::{self, BodyBudget, ConnLimits, EventFilter, IngressState, Mode, SetupState};
use crate::instance::{pace_ledger, Instance};
use crate::jobs::{Bot, Worker, WorkerOptions};
use crate::metrics::Metrics;
use crate::store::{AuditEntry, JobWake, Store, StoreError, StoreOptions};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(String),
}

/// Knobs the tests and benchmarks turn; `serve` uses the defaults.
pub struct ServerOptions {
    pub bind: SocketAddr,
    pub client: ClientConfig,
    pub worker: WorkerOptions,
    pub progress_interval: Duration,
    /// A connection with no I/O for this long is closed.
    pub idle_timeout: Duration,
    /// How long a webhook body may take before it must average 16 KiB/s.
    pub body_grace: Duration,
}

impl ServerOptions {
    pub fn from_config(config: &Config) -> Self {
        ServerOptions {
            bind: SocketAddr::from(([0, 0, 0, 0], config.port)),
            client: ClientConfig {
                api_url: config.api_url.clone(),
                content_writes_per_minute: config.instances.writes_per_minute,
                ..ClientConfig::default()
            },
            worker: WorkerOptions {
                lease: config.instances.lease,
                ..WorkerOptions::default()
            },
            progress_interval: Duration::from_secs(2),
            idle_timeout: ConnLimits::default().idle_timeout,
            body_grace: BodyBudget::default().grace,
        }
    }
}

/// A started server. Dropping it does not stop it: call `shutdown` (graceful)
/// or `abort` (what a crash looks like: no task gets to finish its step).
pub struct RunningServer {
    pub addr: SocketAddr,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    /// What the status page says of the set-up (`serve` fills it at start-up).
    pub doctor: crate::doctor::Report,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Held while this server owns the database file.
    _owner: Option<std::fs::File>,
}

impl RunningServer {
    /// Stop taking work and wait up to 10 s for running jobs; a job still
    /// running then is abandoned mid-step, and its lease and journal let the
    /// next process resume it.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let aborts: Vec<_> = self.tasks.iter().map(|t| t.abort_handle()).collect();
        let all = futures_join(self.tasks);
        if tokio::time::timeout(Duration::from_secs(10), all)
            .await
            .is_err()
        {
            tracing::warn!("jobs still running after 10 s; they will resume after restart");
            for a in aborts {
                a.abort();
            }
        }
        self.store.close().await;
    }

    pub fn abort(self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn futures_join(tasks: Vec<JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}

/// Feeds GitHub call records to the metrics and, for writes, the audit log.
struct Observers {
    metrics: Arc<Metrics>,
    audit: mpsc::UnboundedSender<AuditEntry>,
}

impl CallObserver for Observers {
    fn on_call(&self, call: &CallRecord<'_>) {
        self.metrics.on_call(call);
        if let Some(entry) = audit_entry(call, chrono::Utc::now()) {
            let _ = self.audit.send(entry);
        }
    }
}

/// The audit entry for a GitHub call, or None for reads (GET/HEAD), which
/// the audit log does not keep.
fn audit_entry(call: &CallRecord<'_>, at: chrono::DateTime<chrono::Utc>) -> Option<AuditEntry> {
    if call.method.eq_ignore_ascii_case("GET") || call.method.eq_ignore_ascii_case("HEAD") {
        return None;
    }
    let job = crate::jobs::current_job();
    Some(AuditEntry {
        job_id: job.as_ref().map(|j| j.job_id),
        delivery_id: job.as_ref().map(|j| j.delivery_id.clone()),
        actor: job.and_then(|j| j.actor),
        installation_id: call.installation.and_then(|i| i64::try_from(i).ok()),
        method: call.method.to_ascii_uppercase(),
        path: call.path.to_owned(),
        status: call.status,
        started_at: at - chrono::Duration::from_std(call.elapsed).unwrap_or_default(),
        at,
    })
}

async fn audit_writer(store: Store, mut rx: mpsc::UnboundedReceiver<AuditEntry>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        if let Err(e) = store.record_audit(&batch).await {
            tracing::error!(error = %e, entries = batch.len(), "cannot write the audit log");
        }
    }
}

/// Start everything with App credentials; returns once the socket listens.
pub async fn start(config: &Config, options: ServerOptions) -> Result<RunningServer, ServerError> {
    let Some(GitHubAuth::App {
        app_id,
        private_key,
        ..
    }) = &config.auth
    else {
        return Err(ServerError::Config(
            "serve needs App credentials (ORC_APP_ID and ORC_APP_PRIVATE_KEY or ORC_APP_PRIVATE_KEY_PATH)".into(),
        ));
    };
    if config.webhook_secrets.is_empty() {
        tracing::warn!("ORC_WEBHOOK_SECRET is not set: every delivery will be refused with 401");
    }
    if config.requests_repos.is_empty() {
        tracing::warn!("ORC_REQUESTS_REPOS is empty: no comment will be treated as a command");
    }
    let owner = own_database(config.database_url.expose())?;
    let store = Store::open_with(
        config.database_url.expose(),
        StoreOptions {
            keep_bodies: config.instances.keep_bodies,
            durability: config.instances.durability,
            ..StoreOptions::default()
        },
    )
    .await?;
    if owner.is_some() {
        // This process owns the file, so jobs marked running belong to a
        // process that is gone: resume them now, not when their lease ends.
        let n = store.expire_leases().await?;
        if n > 0 {
            tracing::info!(jobs = n, "resuming jobs a stopped process left running");
        }
    }
    let (instance, taken) = Instance::register(&store, &config.instances).await?;
    if taken > 0 {
        tracing::info!(instance = %instance.name, jobs = taken, "resuming the jobs this instance held before its restart");
    }
    let metrics = Arc::new(Metrics::new());
    metrics.set_instance(&instance.name);
    let wake = JobWake::new();
    store.watch_jobs(wake.clone());
    let (audit_tx, audit_rx) = mpsc::unbounded_channel();
    let mut client = options.client;
    if client.pace_ledger.is_none() {
        client.pace_ledger = Some(pace_ledger(&store));
    }
    client.observer = Some(Arc::new(Observers {
        metrics: metrics.clone(),
        audit: audit_tx,
    }));
    let app = GitHub::app(
        client,
        AppCredentials::from_pem(app_id.clone(), private_key)?,
    )?;

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .map_err(|source| ServerError::Bind {
            addr: options.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: options.bind,
        source,
    })?;
    let doctor = crate::doctor::Report::default();
    let router = http::router(Mode::Serve(IngressState {
        store: store.clone(),
        secrets: config.webhook_secrets.clone(),
        filter: EventFilter {
            requests_repos: config.requests_repos.clone(),
            course_prefix: Some(config.settings.names.prefix().to_string()),
        },
        metrics: metrics.clone(),
        wake: wake.clone(),
        bodies: BodyBudget::new(config.limits.unauth_body_bytes).with_grace(options.body_grace),
        doctor: doctor.clone(),
        api_token: config.api_token.clone(),
    }));
    let limits = ConnLimits {
        max_connections: config.limits.max_connections,
        header_timeout: config.limits.header_timeout,
        idle_timeout: options.idle_timeout,
    };
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(http::serve(
        listener,
        router,
        limits,
        shutdown_rx.clone(),
    )));
    tasks.push(tokio::spawn(audit_writer(store.clone(), audit_rx)));
    let bot = Arc::new(Bot {
        settings: config.settings.clone(),
        operators_team: config.operators_team.clone(),
        progress_interval: options.progress_interval,
        max_commands: config.limits.max_commands,
        require_approval: config.require_approval,
        approvers_team: config.approvers_team.clone(),
        checklists: config.checklists.clone(),
        metrics: metrics.clone(),
        web_url: http::github_web_url(&config.api_url),
    });
    tasks.push(instance.spawn_heartbeat(
        store.clone(),
        config.instances.lease / 3,
        shutdown_rx.clone(),
    ));
    tasks.push(crate::instance::spawn_pruner(
        store.clone(),
        config.instances.retention_days,
        shutdown_rx.clone(),
    ));
    if let Some(every) = config.instances.redeliver_every {
        tasks.push(crate::redeliver::spawn(
            app.clone(),
            store.clone(),
            metrics.clone(),
            instance.name.clone(),
            every,
            shutdown_rx.clone(),
        ));
    }
    for n in 0..config.workers {
        let worker = Worker {
            store: store.clone(),
            app: app.clone(),
            bot: bot.clone(),
            metrics: metrics.clone(),
            wake: wake.clone(),
            options: options.worker.clone(),
            owner: instance.worker_owner(n),
        };
        tasks.push(tokio::spawn(worker.run(shutdown_rx.clone())));
    }
    // Jobs left by an earlier process (or due retries) start without waiting
    // for a new delivery.
    wake.one();
    tracing::info!(%addr, workers = config.workers, instance = %instance.name, database = store.backend().as_str(), durability = store.durability().as_str(), "orcoursetrion is listening");
    Ok(RunningServer {
        addr,
        store,
        metrics,
        doctor,
        shutdown: shutdown_tx,
        tasks,
        _owner: owner,
    })
}

/// One `serve` per SQLite file: a lock on `{file}.lock` (released by the OS
/// when the process dies, even by `kill -9`). A second server is refused.
pub(crate) fn own_database(url: &str) -> Result<Option<std::fs::File>, ServerError> {
    let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(p))
        .filter(|p| !p.is_empty() && !p.starts_with(':'))
    else {
        return Ok(None);
    };
    let lock_path = format!("{path}.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| ServerError::Config(format!("cannot open the lock file {lock_path}: {e}")))?;
    // A previous owner that is just exiting (or a child process forked at
    // that moment, which briefly shares the lock) gets two seconds to let go.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let held = format!("{path} (it holds {lock_path})");
                let msg = format!("another orcoursetrion serve is using {held}; stop it first");
                return Err(ServerError::Config(msg));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(ServerError::Config(format!("cannot lock {lock_path}: {e}")))
            }
        }
    }
}

/// `orcoursetrion serve`.
pub async fn serve(config: Config) -> Result<(), ServerError> {
    let vars: HashMap<String, String> = std::env::vars().collect();
    serve_with_vars(config, vars).await
}

/// [`serve`], with the environment given (setup mode reads it, and checks
/// the settings it saves against it). Without App credentials it runs setup
/// mode first, then goes on with what setup saved, without a restart.
pub async fn serve_with_vars(
    config: Config,
    vars: HashMap<String, String>,
) -> Result<(), ServerError> {
    let mut stop = crate::stop::StopSignal::install();
    let config = if matches!(config.auth, Some(GitHubAuth::App { .. })) {
        config
    } else {
        match serve_setup(&config, &vars, &mut stop).await? {
            Some(c) => {
                tracing::info!("setup complete: leaving setup mode");
                c
            }
            None => return Ok(()),
        }
    };
    let server = start(&config, ServerOptions::from_config(&config)).await?;
    // The doctor once, into the log and the status page; it only reads. The
    // server already answers meanwhile, and a stop signal cuts it short.
    let stopped = tokio::select! {
        () = log_doctor(&config, &server.doctor) => false,
        () = stop.recv() => true,
    };
    if !stopped {
        stop.recv().await;
    }
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
}

async fn log_doctor(config: &Config, report: &crate::doctor::Report) {
    let client = ClientConfig {
        api_url: config.api_url.clone(),
        ..ClientConfig::default()
    };
    let findings = crate::doctor::diagnose(config, client).await;
    for f in &findings {
        match &f.fix {
            None => tracing::info!("doctor: ✓ {}", f.what),
            Some(fix) => tracing::warn!("doctor: ✗ {}: {fix}", f.what),
        }
    }
    report.set(findings);
}

/// Setup mode until the App is registered and its settings saved (then the
/// configuration to run with) or until a stop signal (`None`).
async fn serve_setup(
    config: &Config,
    vars: &HashMap<String, String>,
    stop: &mut crate::stop::StopSignal,
) -> Result<Option<Config>, ServerError> {
    let state = SetupState::from_vars(vars);
    let done = state.done.clone();
    let env_path = state.env_path.clone();
    let addr = SocketAddr::from(([0, 0, 0, 0], config.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    // The URL is the operator's own setting, but it may carry credentials.
    tracing::warn!(
        "no GitHub App credentials: setup mode. Open {} to register the App",
        crate::secret::redact_url(&state.public_url)
    );
    let limits = ConnLimits {
        max_connections: config.limits.max_connections,
        header_timeout: config.limits.header_timeout,
        ..ConnLimits::default()
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let server = tokio::spawn(http::serve(
        listener,
        http::router(Mode::Setup(state)),
        limits,
        stop_rx,
    ));
    let finished = tokio::select! {
        () = done.wait() => true,
        () = stop.recv() => false,
    };
    let _ = stop_tx.send(true);
    let _ = server.await;
    if !finished {
        return Ok(None);
    }
    // What `serve` would read after a restart: the environment, then `.env`.
    let mut merged = vars.clone();
    merged.extend(http::read_env_file(&env_path));
    Config::from_vars(&merged).map(Some).map_err(|e| {
        ServerError::Config(format!(
            "the saved settings do not load; fix {} and start again: {e}",
            env_path.display()
        ))
    })
}
