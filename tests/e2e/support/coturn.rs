//! Debian's coturn on loopback, sharing a secret with Menkai (a relay fleet).

use super::free_port;
use std::process::Stdio;
use std::time::Duration as StdDuration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A coturn on loopback that trusts `secret`.
pub struct Coturn {
    child: Child,
    pub port: u16,
}

impl Coturn {
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    pub async fn start(secret: &str) -> Coturn {
        let binary = ["/usr/bin/turnserver", "/usr/sbin/turnserver"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or_else(|| {
                panic!("coturn's turnserver not found: run scripts/test, which installs Debian's coturn")
            });
        let port = free_port();
        let relay_from = free_port();
        let mut child = Command::new(binary)
            .args([
                "-n",
                "--no-cli",
                "--no-tls",
                "--no-dtls",
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                "--realm=menkai.test",
                "--use-auth-secret",
                "--allow-loopback-peers",
                "--log-file=stdout",
                "--simple-log",
            ])
            .arg(format!("--listening-port={port}"))
            .arg(format!("--static-auth-secret={secret}"))
            .arg(format!("--min-port={relay_from}"))
            .arg(format!("--max-port={}", relay_from.saturating_add(2000)))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("turnserver starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        tokio::time::timeout(StdDuration::from_secs(15), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Total General servers") || line.contains("listener opened on") {
                    break;
                }
            }
        })
        .await
        .expect("coturn listens");
        // Keep draining its log so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Coturn { child, port }
    }
}
