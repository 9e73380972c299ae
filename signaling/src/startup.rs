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

/// How long requests in flight may take to finish once the server is told to stop.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

pub struct Application {
    listener: TcpListener,
    state: AppState,
    limits: Limits,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let db = Db::open(&config.data_dir)?;
        let listener = server::listen(config.listen)
            .with_context(|| format!("listening on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let facility = db.facility().await?;
        let key = ResumeKey::new(db.server_key("resume").await?);
        let hub = Arc::new(Hub::new(
            key,
            HubConfig {
                ice_servers: config.ice_servers.clone(),
                ..HubConfig::default()
            },
        ));
        let passwords = Passwords::for_this_machine()?;
        let mut state = AppState::new(db, clock, public_url, facility, hub, passwords);
        state.metrics_public = config.metrics_public;
        let limits = Limits {
            max_connections: server::fit_to_open_file_limit(config.max_connections),
            ..Limits::default()
        };
        Ok(Self {
            listener,
            state,
            limits,
        })
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
        let scheduler = tokio::spawn(crate::signaling::scheduler::run(self.state.clone(), {
            let mut stop_rx = stop_rx.clone();
            async move {
                let _ = stop_rx.wait_for(|stopped| *stopped).await;
            }
        }));
        let hub = self.state.hub.clone();
        let router = crate::web::router(self.state, self.limits.request);
        let served = server::serve(
            self.listener,
            router,
            self.limits,
            async move {
                shutdown.await;
                let _ = stop_tx.send(true);
                // Signaling sockets would otherwise hold the shutdown open; clients
                // reconnect by themselves (and calls keep flowing peer to peer meanwhile).
                hub.close_all();
            },
            DRAIN,
        )
        .await;
        scheduler.abort();
        drop(stop_rx);
        served
    }
}
