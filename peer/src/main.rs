//! `menkai-peer`: one Rust endpoint joining a visit from the command line, for load
//! scripts and for trying a server by hand. It mirrors the media it receives and
//! prints what it sees as one JSON line a second.

use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use menkai_peer::{Peer, PeerOptions};

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The server's address, e.g. http://127.0.0.1:8080 (its signaling socket is /ws).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// An invitation token (the part after /v/) or a device token.
    #[arg(long, env = "MENKAI_PEER_TOKEN")]
    token: String,
    /// Local UDP address for media; 0.0.0.0:0 means every interface but loopback.
    #[arg(long, default_value = "0.0.0.0:0")]
    bind: String,
    /// Leave after this many seconds (default: stay until Ctrl-C).
    #[arg(long)]
    seconds: Option<u64>,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let options = PeerOptions {
        udp_addrs: vec![cli.bind],
        ..PeerOptions::default()
    };
    let peer = Peer::join(&menkai_peer::ws_url(&cli.server), &cli.token, options).await?;
    let stay = async {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            every.tick().await;
            println!("{}", serde_json::to_string(&peer.snapshot())?);
        }
        #[allow(unreachable_code)]
        anyhow::Ok(())
    };
    let until = async {
        match cli.seconds {
            Some(seconds) => tokio::time::sleep(Duration::from_secs(seconds)).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::select! {
        result = stay => result?,
        () = until => {}
    }
    peer.leave().await;
    Ok(())
}
