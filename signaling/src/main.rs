//! `menkai`: parse the command line, build the server, serve, shut down gracefully.

use clap::Parser;
use menkai::cli::{Cli, Command, ConfigArgs};
use menkai::startup::Application;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    menkai::telemetry::init();
    let command = Cli::parse()
        .command
        .unwrap_or(Command::Serve(ConfigArgs::default()));
    let Command::Serve(args) = command else {
        return menkai::cli::run_admin(command).await;
    };
    let app = Application::build(args.load()?).await?;
    // From the moment the address is printed, SIGTERM means a graceful stop.
    let stop = menkai::telemetry::shutdown_signal();
    println!("Menkai is running. Staff pages: {}/staff", app.public_url());
    if let Some(notice) = app.tls_notice() {
        println!("{notice}");
    }
    if let Some(turn) = app.turn_addr() {
        println!("TURN relay: UDP and TCP on {turn} (--no-turn to leave relaying to others).");
    }
    if let Some(link) = app.first_admin_link().await? {
        println!(
            "First start: create the administrator account here (one-time link, valid 24 hours):\n  {link}"
        );
    }
    app.run_until_stopped(stop).await?;
    println!("Menkai stopped.");
    Ok(())
}
