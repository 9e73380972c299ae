//! Building and running the server: bind, open storage, serve until told to stop.
//! Tests use the same path with port 0 and a manual clock.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::passwords::Passwords;
use crate::server::{self, Limits};
use crate::signaling::resume::ResumeKey;
use crate::signaling::{Hub, HubConfig};
use crate::state::AppState;
use crate::storage::Db;
use crate::tls::{self, CertStore, TlsSource};
use crate::turn::IceProvider;
use crate::turn::io::Listeners;
use crate::turn::relay::Relay;

/// How long requests in flight may take to finish once the server is told to stop.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

pub struct Application {
    listener: TcpListener,
    state: AppState,
    limits: Limits,
    /// With HTTPS on: the shared TLS configuration and the task that keeps its
    /// certificate current (file watcher or ACME renewals).
    tls: Option<(Arc<rustls::ServerConfig>, CertTask)>,
    /// The plain-HTTP listener that only redirects to HTTPS.
    redirect: Option<TcpListener>,
    tls_source: Option<TlsSource>,
    /// The embedded TURN relay and its sockets (off with `--no-turn`).
    turn: Option<(Arc<Relay>, Listeners)>,
    /// E-mail to families: the mailer and the from address (off without `[smtp]`).
    mail: Option<(crate::messages::smtp::Mailer, String)>,
    /// Live captions: the link to the recogniser, and how to stop it.
    captions: Option<(
        tokio::task::JoinHandle<()>,
        tokio::sync::watch::Sender<bool>,
    )>,
}

type CertTask = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// `https://` plus the domain (or the listen address) when serving TLS; `http://` plus
/// the listen address otherwise. The port is left out where it is the scheme's own.
pub fn default_public_url(config: &Config, addr: SocketAddr) -> String {
    let host = match &config.tls {
        Some(TlsSource::Acme(acme)) => acme.domain.clone(),
        _ => addr.ip().to_string(),
    };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    match (config.tls.is_some(), addr.port()) {
        (true, 443) => format!("https://{host}"),
        (true, port) => format!("https://{host}:{port}"),
        (false, 80) => format!("http://{host}"),
        (false, port) => format!("http://{host}:{port}"),
    }
}

/// Loads the certificate (a bad pair of files stops the start here) and returns the
/// TLS configuration with the task that keeps it current.
fn start_tls(
    source: &TlsSource,
    data_dir: &std::path::Path,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Arc<rustls::ServerConfig>, CertTask)> {
    let store = Arc::new(CertStore::default());
    let task: CertTask = match source {
        TlsSource::Files { cert, key } => Box::pin(tls::files::serve_from(
            cert.clone(),
            key.clone(),
            store.clone(),
        )?),
        TlsSource::Acme(settings) => Box::pin(tls::acme::run(
            settings.clone(),
            data_dir.to_owned(),
            store.clone(),
            clock,
        )),
    };
    Ok((tls::server_config(store)?, task))
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let db = Db::open(&config.data_dir)?;
        let tls = config
            .tls
            .as_ref()
            .map(|source| start_tls(source, &config.data_dir, clock.clone()))
            .transpose()?;
        let listener = crate::net::listen(config.listen)
            .with_context(|| format!("listening on {}", config.listen))?;
        let redirect = config
            .redirect_http
            .map(|addr| {
                crate::net::listen(addr)
                    .with_context(|| format!("listening on {addr} (redirect_http)"))
            })
            .transpose()?;
        let addr = listener.local_addr()?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| default_public_url(&config, addr));
        let facility = db.facility().await?;
        let key = ResumeKey::new(db.server_key("resume").await?);
        let metrics = crate::metrics::Metrics::default();
        let ledger = Arc::new(crate::turn::credentials::Ledger::default());
        let mut ice = IceProvider::new(config.ice_servers.clone(), config.relays.clone());
        let mut turn_keys = None;
        let turn = match &config.turn {
            Some(turn) => {
                let listeners = match Listeners::bind(turn.listen, turn.turns_listen).await {
                    Ok(listeners) => listeners,
                    // The default port taken (another relay on this machine): a relay on
                    // any port still connects calls, since peers are handed its URLs.
                    Err(e) if turn.listen == crate::turn::TurnConfig::default().listen => {
                        tracing::warn!(
                            error = %e,
                            "TURN relay: port 3478 is in use; relaying on another port (set --turn-listen to choose)"
                        );
                        Listeners::bind(SocketAddr::new(turn.listen.ip(), 0), turn.turns_listen)
                            .await
                            .context("TURN relay: listening on a free port")?
                    }
                    Err(e) => {
                        return Err(e)
                            .with_context(|| format!("TURN relay: listening on {}", turn.listen));
                    }
                };
                // Kept in the database, so credentials handed out survive a restart;
                // a new one each day (the scheduler rotates them).
                let day = crate::turn::credentials::day_of(clock.now().timestamp());
                let (today, yesterday) = db.turn_keys(day).await?;
                let keys = Arc::new(crate::turn::credentials::DayKeys::new(
                    day,
                    &today,
                    yesterday.as_ref(),
                ));
                let (relay, urls) = crate::turn::embedded::start(
                    turn,
                    &crate::turn::embedded::Surroundings {
                        public_url: &public_url,
                        http: addr,
                        tls: tls.is_some(),
                        listen: listeners.local_addr()?,
                        turns: listeners.turns_addr(),
                        resolved: match turn.public_ip {
                            Some(_) => None,
                            None => crate::turn::embedded::resolve_host(&public_url).await,
                        },
                    },
                    keys.clone(),
                    ledger.clone(),
                    metrics.relay.clone(),
                );
                ice = ice.with_embedded(urls, keys.clone(), ledger);
                turn_keys = Some(keys);
                Some((relay, listeners))
            }
            None => None,
        };
        let hub = Arc::new(Hub::new(
            key,
            HubConfig {
                ice: Arc::new(ice),
                relay_only: config.relay_only,
                recogniser: config.captions.is_some(),
                ..HubConfig::default()
            },
        ));
        let mail = config
            .smtp
            .as_ref()
            .map(|smtp| {
                crate::messages::smtp::Mailer::new(smtp, &facility.name)
                    .map(|mailer| (mailer, smtp.from.clone()))
            })
            .transpose()?;
        let passwords = Passwords::for_this_machine()?;
        let mut state = AppState::new(db, clock, public_url, facility, hub, passwords);
        state.mail = config.smtp.as_ref().map(|smtp| smtp.summary());
        state.metrics_public = config.metrics_public;
        state.hsts = tls.is_some();
        state.metrics = metrics;
        state.relay = turn.as_ref().map(|(relay, _)| relay.clone());
        state.turn_keys = turn_keys;
        let captions = config.captions.clone().map(|recogniser| {
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let (captions, task) = crate::captions::Captions::start(
                recogniser,
                state.hub.clone(),
                state.metrics.clone(),
                stop_rx,
            );
            state.captions = Some(captions);
            (task, stop_tx)
        });
        let limits = Limits {
            max_connections: crate::net::fit_to_open_file_limit(config.max_connections),
            ..Limits::default()
        };
        Ok(Self {
            listener,
            state,
            limits,
            tls,
            redirect,
            tls_source: config.tls.clone(),
            turn,
            mail,
            captions,
        })
    }

    /// The embedded relay's UDP/TCP address, when it runs.
    pub fn turn_addr(&self) -> Option<SocketAddr> {
        self.turn
            .as_ref()
            .and_then(|(_, listeners)| listeners.local_addr().ok())
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// What to tell the operator at start about HTTPS, if it is on.
    pub fn tls_notice(&self) -> Option<String> {
        match &self.tls_source {
            Some(TlsSource::Acme(acme)) => Some(format!(
                "HTTPS: a certificate for {} comes from {} (the first takes a few seconds; \
                 the domain's DNS record must point to this server and port 443 must reach it; \
                 problems are explained in the log).",
                acme.domain, acme.directory
            )),
            Some(TlsSource::Files { cert, .. }) => Some(format!(
                "HTTPS: serving the certificate in {} (reloaded when the file changes).",
                cert.display()
            )),
            None => None,
        }
    }

    /// While nobody has an account yet: a one-time link to create the first
    /// administrator. Each start makes a new one and spends the older ones.
    pub async fn first_admin_link(&self) -> anyhow::Result<Option<String>> {
        let token = self
            .state
            .db
            .create_first_admin_invite(self.state.now())
            .await?;
        Ok(token.map(|token| format!("{}/setup/{token}", self.state.public_url)))
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = || {
            let mut stop_rx = stop_rx.clone();
            async move {
                let _ = stop_rx.wait_for(|stopped| *stopped).await;
            }
        };
        let scheduler = tokio::spawn(crate::scheduler::run(self.state.clone(), stopped()));
        let outbox = self.mail.map(|(mailer, from)| {
            tokio::spawn(
                crate::messages::outbox::Outbox {
                    db: self.state.db.clone(),
                    notifier: mailer,
                    clock: self.state.clock.clone(),
                    public_url: self.state.public_url.to_string(),
                    from,
                    metrics: self.state.metrics.clone(),
                }
                .run(),
            )
        });
        let (tls, certificates) = match self.tls {
            Some((config, task)) => (Some(config), Some(tokio::spawn(task))),
            None => (None, None),
        };
        let redirect = self.redirect.map(|listener| {
            let router = crate::web::redirect_router(self.state.public_url.clone());
            let serving = server::Serving {
                limits: self.limits,
                tls: None,
                turn: None,
                refusals: self.state.metrics.refusals.clone(),
                drain: DRAIN,
            };
            tokio::spawn(server::serve(listener, router, serving, stopped()))
        });
        let (relay, relaying) = match self.turn {
            Some((relay, listeners)) => {
                let io = crate::turn::io::RelayIo::new(
                    relay,
                    self.state.clock.clone(),
                    listeners.udp.clone(),
                    self.state.metrics.refusals.clone(),
                );
                (
                    Some(io.clone()),
                    Some(tokio::spawn(crate::turn::io::run(
                        io,
                        listeners,
                        tls.clone().map(tokio_rustls::TlsAcceptor::from),
                        stop_rx.clone(),
                    ))),
                )
            }
            None => (None, None),
        };
        let hub = self.state.hub.clone();
        let refusals = self.state.metrics.refusals.clone();
        let router = crate::web::router(self.state, self.limits.request);
        let serving = server::Serving {
            limits: self.limits,
            tls,
            turn: relay,
            refusals,
            drain: DRAIN,
        };
        let served = server::serve(self.listener, router, serving, async move {
            shutdown.await;
            let _ = stop_tx.send(true);
            // Signaling sockets would otherwise hold the shutdown open; clients
            // reconnect by themselves (and calls keep flowing peer to peer meanwhile).
            hub.close_all();
        })
        .await;
        scheduler.abort();
        // A message being sent is either accepted (and marked) or tried again after the
        // restart: the outbox loses nothing by stopping here.
        if let Some(outbox) = outbox {
            outbox.abort();
        }
        if let Some(certificates) = certificates {
            certificates.abort();
        }
        // They stop with the same signal; let their requests finish too.
        if let Some(redirect) = redirect {
            let _ = redirect.await;
        }
        if let Some(relaying) = relaying {
            let _ = relaying.await;
        }
        if let Some((task, stop)) = self.captions {
            let _ = stop.send(true);
            let _ = task.await;
        }
        drop(stop_rx);
        served
    }
}
