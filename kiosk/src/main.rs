//! `menkai-kiosk`: parse the command line, do what it says, exit with a code a service
//! manager understands (0 done or stopped, 2 set-up to fix, 3 network or server,
//! 4 removed by staff).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use menkai_kiosk::error::KioskError;
use menkai_kiosk::i18n::{Lang, Tr};
use menkai_kiosk::{browser, doctor, install, pairing, server, watchdog};

#[derive(Parser)]
#[command(name = "menkai-kiosk", version, about = "The Menkai entrance kiosk")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct BrowserArgs {
    /// The Chromium or Chrome to run (default: the first found).
    #[arg(long, env = "MENKAI_KIOSK_BROWSER")]
    browser: Option<PathBuf>,
    /// Use Chromium's fake camera and microphone (tests).
    #[arg(long)]
    fake_media: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Pair this computer with the server, using the code from the staff Devices page.
    Pair { url: String, code: String },
    /// Run the browser full screen on the device page and keep it there.
    Run {
        #[command(flatten)]
        browser: BrowserArgs,
        /// No window (tests, and checking a set-up remotely).
        #[arg(long)]
        headless: bool,
        /// The window size when headless, e.g. 1366x768.
        #[arg(long, default_value = "1366x768", value_parser = parse_size)]
        window: (u32, u32),
    },
    /// Check browser, camera, microphone, server and pairing.
    Doctor {
        #[command(flatten)]
        browser: BrowserArgs,
    },
    /// Start the kiosk at every login (Linux: a systemd user unit and an autostart entry).
    Install {
        #[arg(long)]
        browser: Option<PathBuf>,
    },
}

fn parse_size(text: &str) -> Result<(u32, u32), String> {
    text.split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .filter(|(w, h)| (320..=7680).contains(w) && (240..=4320).contains(h))
        .ok_or_else(|| format!("{text}: expected WIDTHxHEIGHT, e.g. 1366x768"))
}

fn cache_dir() -> PathBuf {
    std::env::var_os("MENKAI_KIOSK_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("menkai-kiosk")))
        .unwrap_or_else(|| std::env::temp_dir().join("menkai-kiosk"))
}

fn browser_options(
    args: &BrowserArgs,
    headless: bool,
    window: (u32, u32),
) -> Result<browser::Options, KioskError> {
    Ok(browser::Options {
        path: browser::find(args.browser.as_deref())?,
        headless,
        fake_media: args.fake_media,
        window,
        lang: match Lang::from_env() {
            Lang::Ja => "ja".into(),
            Lang::En => "en".into(),
        },
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Plain text in the journal or a log file; colours only on a terminal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    let tr = Tr::from_env();
    let dir = pairing::config_dir();
    let profiles = cache_dir().join("profiles");
    let result = match Cli::parse().command {
        Command::Pair { url, code } => pair(&tr, &dir, &url, &code).await,
        Command::Run {
            browser,
            headless,
            window,
        } => {
            let stop = menkai_shutdown::signal();
            // A window an earlier run left showing "removed" closes now, and profiles
            // left by a kiosk that was killed are worth nothing.
            let left_behind = cache_dir().join("browser.pid");
            menkai_kiosk::browser::close_left_behind(&left_behind, &profiles);
            let _ = std::fs::remove_dir_all(&profiles);
            match browser_options(&browser, headless, window) {
                Ok(options) => {
                    let options = watchdog::RunOptions {
                        browser: options,
                        pairing_dir: dir,
                        profiles,
                        left_behind,
                    };
                    match watchdog::run(&options, &tr, stop).await {
                        Ok(watchdog::Outcome::Stopped) => Ok(()),
                        Ok(watchdog::Outcome::Removed) => return ExitCode::from(4),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            }
        }
        Command::Doctor { browser } => {
            let options = browser_options(&browser, true, (1280, 720));
            let checks = doctor::run(&tr, &dir, options, &profiles).await;
            print!("{}", doctor::report(&tr, &checks));
            return if checks.iter().all(|c| c.ok) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            };
        }
        Command::Install { browser } => install_here(&tr, browser),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", e.message(&tr));
            ExitCode::from(e.exit_code())
        }
    }
}

async fn pair(tr: &Tr, dir: &std::path::Path, url: &str, code: &str) -> Result<(), KioskError> {
    let server = server::Server::new(server::origin(url)?)?;
    let paired = server.pair(code).await?;
    paired.save(dir)?;
    println!("{}", tr.args("pair-ok", &[("name", &paired.device_name)]));
    if paired.kind != "entrance" {
        println!("{}", tr.t("pair-not-entrance"));
    }
    Ok(())
}

fn install_here(tr: &Tr, browser: Option<PathBuf>) -> Result<(), KioskError> {
    if std::env::consts::OS != "linux" {
        println!("{}", tr.t("install-not-linux"));
        return Ok(());
    }
    let exe = std::env::current_exe().map_err(|e| KioskError::Save {
        path: PathBuf::from("menkai-kiosk"),
        error: e.to_string(),
    })?;
    let config = dirs::config_dir().unwrap_or_else(|| PathBuf::from(".config"));
    let extra: Vec<String> = browser
        .map(|b| vec!["--browser".to_owned(), b.display().to_string()])
        .unwrap_or_default();
    let done = install::install(&config, &exe, &extra)?;
    // Best effort: without a user session bus (over SSH) it happens at the next login.
    let _ = std::process::Command::new("systemctl")
        .args(["--user", "daemon-reload"])
        .status();
    let _ = std::process::Command::new("systemctl")
        .args(["--user", "enable", "menkai-kiosk.service"])
        .status();
    println!(
        "{}",
        tr.args(
            "install-done",
            &[
                ("unit", &done.unit.display()),
                ("autostart", &done.autostart.display())
            ]
        )
    );
    Ok(())
}
