//! The command line: `menkai serve`, `menkai admin …`, `menkai backup`,
//! `menkai captions install`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use crate::config::{self, Config, Settings};
use crate::messages::smtp::SmtpSettings;
use crate::staff::Role;
use crate::storage::Db;

#[derive(Debug, Parser)]
#[command(name = "menkai", version, about = "Video visits for care homes")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve(ConfigArgs),
    /// Administration from the shell.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Take a consistent copy of the database while the server runs.
    Backup {
        #[command(flatten)]
        config: ConfigArgs,
        /// The file to write; it must not exist yet.
        #[arg(long)]
        out: PathBuf,
    },
    /// Live captions of what families say (README "Live captions").
    #[command(subcommand)]
    Captions(CaptionsCommand),
}

#[derive(Debug, Subcommand)]
pub enum CaptionsCommand {
    /// Install the recogniser's runtime and a model into the data directory:
    /// `base` (default), `small` (better Japanese, about three times the work) or the
    /// path of a CTranslate2 Whisper model directory. Restart `menkai serve` after.
    Install {
        #[command(flatten)]
        config: ConfigArgs,
        model: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Staff accounts.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// E-mail to families.
    #[command(subcommand)]
    Mail(MailCommand),
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Send one test message through the [smtp] settings and say plainly what went wrong.
    Test {
        #[command(flatten)]
        config: ConfigArgs,
        /// Where to send it, e.g. your own address.
        address: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new API token (shown once; stored hashed).
    Create {
        #[command(flatten)]
        config: ConfigArgs,
        /// What the token is for, e.g. "booking import".
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Print a one-time link with which a person creates their staff account.
    Add {
        #[command(flatten)]
        config: ConfigArgs,
        /// The person's name as others will see it.
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "staff", value_parser = ["admin", "staff"])]
        role: String,
    },
}

/// Where settings come from; each flag also reads a `MENKAI_*` variable.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// A TOML file with `listen`, `data`, `public_url`.
    #[arg(long, env = "MENKAI_CONFIG")]
    pub config: Option<PathBuf>,
    /// The data directory (database).
    #[arg(long, env = "MENKAI_DATA")]
    pub data: Option<PathBuf>,
    /// The address to listen on, e.g. 0.0.0.0:8080.
    #[arg(long, env = "MENKAI_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// The address families use, e.g. https://visits.example.jp.
    #[arg(long, env = "MENKAI_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Connections held open at once (default 4096); more get "503, try again".
    #[arg(long, env = "MENKAI_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Answer /metrics to everyone (default: loopback clients and API tokens only).
    #[arg(long, env = "MENKAI_METRICS_PUBLIC")]
    pub metrics_public: Option<bool>,
    /// Serve HTTPS with certificates from an ACME CA for this name, e.g. visits.example.jp.
    #[arg(long, env = "MENKAI_DOMAIN")]
    pub domain: Option<String>,
    /// The ACME directory (default: Let's Encrypt).
    #[arg(long, env = "MENKAI_ACME_DIRECTORY")]
    pub acme_directory: Option<String>,
    /// An e-mail address the CA may write to about the certificate.
    #[arg(long, env = "MENKAI_ACME_CONTACT")]
    pub acme_contact: Option<String>,
    /// An extra root certificate (PEM) to trust when talking to the ACME directory.
    #[arg(long, env = "MENKAI_ACME_ROOT")]
    pub acme_root: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM), reloaded when it changes.
    #[arg(long, env = "MENKAI_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM: RSA, ECDSA or Ed25519) of --tls-cert.
    #[arg(long, env = "MENKAI_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Also listen for plain HTTP here, only to redirect to HTTPS (e.g. 0.0.0.0:80).
    #[arg(long, env = "MENKAI_REDIRECT_HTTP")]
    pub redirect_http: Option<std::net::SocketAddr>,
    /// Do not run the embedded TURN relay (use [[turn_servers]] or none).
    #[arg(long, env = "MENKAI_NO_TURN")]
    pub no_turn: bool,
    /// The relay's UDP and TCP address (default 0.0.0.0:3478).
    #[arg(long, env = "MENKAI_TURN_LISTEN")]
    pub turn_listen: Option<std::net::SocketAddr>,
    /// An extra TLS port for the relay (turns:), besides the HTTPS port itself.
    #[arg(long, env = "MENKAI_TURNS_LISTEN")]
    pub turns_listen: Option<std::net::SocketAddr>,
    /// The public address relayed candidates carry (behind 1:1 NAT, e.g. on a cloud server).
    #[arg(long, env = "MENKAI_TURN_PUBLIC_IP")]
    pub turn_public_ip: Option<std::net::IpAddr>,
    /// Ports for relayed addresses, FIRST-LAST (default 49152-65535).
    #[arg(long, env = "MENKAI_TURN_PORTS")]
    pub turn_ports: Option<String>,
    /// The captions recogniser program (default: menkai-captions next to menkai).
    #[arg(long, env = "MENKAI_CAPTIONS_BIN")]
    pub captions_bin: Option<PathBuf>,
    /// A captions recogniser on another machine, e.g. ws://10.0.0.5:7447.
    #[arg(long, env = "MENKAI_CAPTIONS_URL")]
    pub captions_url: Option<String>,
    /// A file with that recogniser's secret.
    #[arg(long, env = "MENKAI_CAPTIONS_SECRET_FILE")]
    pub captions_secret_file: Option<PathBuf>,
    /// Recognition threads (cores) for the recogniser started here (default 1).
    #[arg(long, env = "MENKAI_CAPTIONS_WORKERS")]
    pub captions_workers: Option<usize>,
}

impl ConfigArgs {
    pub fn load(&self) -> anyhow::Result<Config> {
        config::load(
            self.config.as_deref(),
            Settings {
                listen: self.listen,
                data: self.data.clone(),
                public_url: self.public_url.clone(),
                ice_servers: None,
                turn_servers: None,
                relay_only: None,
                max_connections: self.max_connections,
                metrics_public: self.metrics_public,
                domain: self.domain.clone(),
                acme_directory: self.acme_directory.clone(),
                acme_contact: self.acme_contact.clone(),
                acme_root: self.acme_root.clone(),
                tls_cert: self.tls_cert.clone(),
                tls_key: self.tls_key.clone(),
                redirect_http: self.redirect_http,
                no_turn: self.no_turn.then_some(true),
                turn_listen: self.turn_listen,
                turns_listen: self.turns_listen,
                turn_public_ip: self.turn_public_ip,
                turn_ports: self.turn_ports.clone(),
                turn_allow_peers: None,
                turn_max_allocations: None,
                turn_user_quota: None,
                turn_bandwidth_kbps: None,
                smtp: Some(SmtpSettings::from_env(|k| std::env::var(k).ok())?),
                captions_bin: self.captions_bin.clone(),
                captions_url: self.captions_url.clone(),
                captions_secret_file: self.captions_secret_file.clone(),
                captions_workers: self.captions_workers,
            },
        )
    }
}

/// The public address for links printed by shell commands, which do not listen.
fn public_url(config: &Config) -> String {
    config
        .public_url
        .clone()
        .unwrap_or_else(|| crate::startup::default_public_url(config, config.listen))
}

/// `menkai admin mail test`: the same mailer the server uses, one message, and the
/// cause in words when it fails (a refused login, the certificate, no connection).
async fn mail_test(config: &Config, address: &str) -> anyhow::Result<()> {
    use crate::messages::{Notifier as _, Outgoing, smtp::Mailer};
    let smtp = config.smtp.as_ref().context(
        "E-mail is not set up: add an [smtp] section to the configuration file (README, \"E-mail\")",
    )?;
    let to = crate::validation::email(address)
        .map_err(|_| anyhow::anyhow!("{address:?} is not an e-mail address"))?;
    let db = Db::open(&config.data_dir)?;
    let facility = db.facility().await?;
    let mailer = Mailer::new(smtp, &facility.name)?;
    eprintln!(
        "Connecting to {}:{} ({}) …",
        smtp.host,
        smtp.port,
        smtp.tls.as_str()
    );
    if let Err(problem) = mailer.check().await {
        anyhow::bail!(problem.advice(smtp));
    }
    let tr = crate::i18n::Tr::new(facility.language);
    let body = tr.t1("mail-test-body", "facility", &facility.name);
    let message = Outgoing {
        to_name: String::new(),
        to_address: to.clone(),
        subject: tr.t("mail-test-subject"),
        text: body.clone(),
        html: format!(
            "<p>{}</p>",
            askama::filters::escape(&body, askama::filters::Html)?
        ),
        calendar: None,
        qr_png: None,
        message_id: format!("menkai.test.{}", crate::tokens::new_id()),
    };
    match mailer.send(&message).await {
        Ok(()) => {
            println!(
                "Sent a test message to {to} through {}:{}.",
                smtp.host, smtp.port
            );
            Ok(())
        }
        Err(e) => anyhow::bail!(
            "The mail server did not take the message to {to}: {}",
            e.reason()
        ),
    }
}

/// Runs the commands other than `serve`.
pub async fn run_admin(command: Command) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    match command {
        Command::Serve(_) => anyhow::bail!("serve is run by main"),
        Command::Admin(AdminCommand::Token(TokenCommand::Create { config, name })) => {
            let config = config.load()?;
            let db = Db::open(&config.data_dir)?;
            let token = db.create_api_token(name, now).await?;
            println!("{token}");
            eprintln!(
                "Keep this token secret. It is shown only now; use it as `Authorization: Bearer <token>`."
            );
        }
        Command::Admin(AdminCommand::Staff(StaffCommand::Add { config, name, role })) => {
            let config = config.load()?;
            let db = Db::open(&config.data_dir)?;
            let role = Role::parse(&role).unwrap_or(Role::Staff);
            let name = crate::validation::name(&name, 80)
                .map_err(|code| anyhow::anyhow!("--name: {code}"))?;
            let token = db
                .create_staff_invite(
                    name.clone(),
                    role,
                    crate::storage::actor::COMMAND_LINE.into(),
                    now,
                )
                .await?;
            println!("{}/setup/{token}", public_url(&config));
            eprintln!("Give this one-time link to {name}. It works once, for 24 hours.");
        }
        Command::Admin(AdminCommand::Mail(MailCommand::Test { config, address })) => {
            let config = config.load()?;
            mail_test(&config, &address).await?;
        }
        Command::Captions(CaptionsCommand::Install { config, model }) => {
            let config = config.load()?;
            let dir = crate::captions::install::captions_dir(&config.data_dir);
            std::fs::create_dir_all(&config.data_dir)?;
            crate::files::private_dir(&config.data_dir)?;
            let bin = config
                .captions
                .as_ref()
                .and_then(|r| match r {
                    crate::captions::Recogniser::Local { bin, .. } => Some(bin.clone()),
                    crate::captions::Recogniser::Remote { .. } => None,
                })
                .or_else(|| std::env::var_os("MENKAI_CAPTIONS_BIN").map(PathBuf::from))
                .or_else(crate::captions::install::default_binary)
                .context("menkai-captions was not found next to menkai: build it (cargo build --release -p menkai-captions) or set MENKAI_CAPTIONS_BIN")?;
            let mirror = std::env::var("MENKAI_CAPTIONS_MIRROR").ok();
            let name = tokio::task::spawn_blocking(move || {
                crate::captions::install::install(
                    &dir,
                    model.as_deref(),
                    mirror.as_deref(),
                    |lib, model| crate::captions::install::check_with(&bin, lib, model),
                )
            })
            .await??;
            println!(
                "Captions: {name} installed in {}. Restart menkai serve; then turn captions on for a resident (Residents page) or a visit.",
                crate::captions::install::captions_dir(&config.data_dir).display()
            );
        }
        Command::Backup { config, out } => {
            let config = config.load()?;
            crate::storage::backup(&config.data_dir, &out)?;
            eprintln!("Backup written to {}.", out.display());
        }
    }
    Ok(())
}
