//! The one connection to the recogniser: start it (a child process that dies with the
//! server: its standard input is a pipe from us), connect with its secret, re-open the
//! streams of whoever is speaking, pass audio on and results back, and when it dies or
//! the connection drops, tell the visits and try again (1 s, 2 s, 4 s … 30 s).

use std::collections::HashSet;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use menkai_protocol::captions::{FromRecogniser, ToRecogniser};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::{Captions, Outgoing, Recogniser};
use crate::signaling::Hub;
use crate::signaling::protocol::ServerMsg;

/// Loading a model takes a second or two; a slow disk, longer.
const START_WITHIN: Duration = Duration::from_secs(60);
const RETRY_AT_MOST: Duration = Duration::from_secs(30);

pub(super) async fn run(
    recogniser: Recogniser,
    captions: Captions,
    hub: Arc<Hub>,
    mut outgoing: mpsc::Receiver<Outgoing>,
    mut stop: watch::Receiver<bool>,
) {
    let mut wait = Duration::from_secs(1);
    let mut down = false;
    loop {
        let started = tokio::time::Instant::now();
        match connect(&recogniser).await {
            Ok((socket, child)) => {
                let pid = child.as_ref().and_then(Child::id).unwrap_or(0);
                captions
                    .pid
                    .store(pid, std::sync::atomic::Ordering::Relaxed);
                captions.metrics.captions.starts.inc();
                captions.metrics.captions.up.set(1);
                hub.captions_available(true);
                tracing::info!("captions: the recogniser is ready");
                let why = serve(socket, child, &captions, &hub, &mut outgoing, &mut stop).await;
                captions.pid.store(0, std::sync::atomic::Ordering::Relaxed);
                captions.metrics.captions.up.set(0);
                if *stop.borrow() {
                    return;
                }
                hub.captions_available(false);
                down = true;
                tracing::warn!(why, "captions: the recogniser stopped; starting it again");
            }
            Err(e) => {
                if !down {
                    hub.captions_available(false);
                    down = true;
                }
                tracing::warn!(error = %format!("{e:#}"), "captions: no recogniser");
            }
        }
        if started.elapsed() > Duration::from_secs(60) {
            wait = Duration::from_secs(1);
        }
        // Audio that came meanwhile is of no use now.
        while outgoing.try_recv().is_ok() {}
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        wait = (wait * 2).min(RETRY_AT_MOST);
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Starts the local recogniser (or not, for a remote one) and connects to it.
async fn connect(recogniser: &Recogniser) -> anyhow::Result<(Socket, Option<Child>)> {
    let (url, secret, child) = match recogniser {
        Recogniser::Remote { url, secret } => (url.clone(), secret.clone(), None),
        Recogniser::Local { bin, dir, workers } => {
            let secret = crate::tokens::generate().plain;
            let lib = super::install::lib_dir(dir);
            let library_path = match std::env::var_os("LD_LIBRARY_PATH") {
                Some(old) => {
                    let mut paths = vec![lib];
                    paths.extend(std::env::split_paths(&old));
                    std::env::join_paths(paths)?
                }
                None => lib.into_os_string(),
            };
            let mut child = Command::new(bin)
                .arg("serve")
                .arg("--model")
                .arg(super::install::model_dir(dir))
                .arg("--workers")
                .arg(workers.to_string())
                .arg("--exit-with-stdin")
                .env("MENKAI_CAPTIONS_SECRET", &secret)
                .env("LD_LIBRARY_PATH", library_path)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| anyhow::anyhow!("starting {}: {e}", bin.display()))?;
            let stdout = child
                .stdout
                .take()
                .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            let line = tokio::time::timeout(START_WITHIN, lines.next_line())
                .await
                .map_err(|_| anyhow::anyhow!("the recogniser did not start within a minute"))??
                .ok_or_else(|| anyhow::anyhow!("the recogniser stopped while starting"))?;
            let addr = line
                .strip_prefix("listening on ")
                .ok_or_else(|| anyhow::anyhow!("the recogniser said {line:?}"))?;
            (format!("ws://{addr}"), secret, Some(child))
        }
    };
    let mut request = url.as_str().into_client_request()?;
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {secret}").parse()?);
    let (socket, _) = tokio::time::timeout(START_WITHIN, tokio_tungstenite::connect_async(request))
        .await
        .map_err(|_| anyhow::anyhow!("connecting to {url} timed out"))??;
    Ok((socket, child))
}

/// Passes frames both ways until the recogniser goes away; returns why.
async fn serve(
    socket: Socket,
    mut child: Option<Child>,
    captions: &Captions,
    hub: &Hub,
    outgoing: &mut mpsc::Receiver<Outgoing>,
    stop: &mut watch::Receiver<bool>,
) -> &'static str {
    let (mut sink, mut source) = socket.split();
    for (stream, lang) in captions.reopen_all() {
        let open = ToRecogniser::Open { stream, lang };
        if let Ok(text) = serde_json::to_string(&open)
            && sink.send(Message::text(text)).await.is_err()
        {
            return "the connection failed";
        }
    }
    // Held until we stop: the recogniser stops when its standard input closes (and
    // tokio's `wait` would close it).
    let _stdin = child.as_mut().and_then(|c| c.stdin.take());
    // Partials shown, so an empty final can take one back (and only then is sent).
    let mut shown: HashSet<(u64, u64)> = HashSet::new();
    let exited = async {
        match child.as_mut() {
            Some(child) => {
                let _ = child.wait().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::pin!(exited);
    loop {
        tokio::select! {
            next = outgoing.recv() => {
                let Some(next) = next else { return "the server is stopping" };
                let message = match next {
                    Outgoing::Text(frame) => match serde_json::to_string(&frame) {
                        Ok(text) => Message::text(text),
                        Err(_) => continue,
                    },
                    Outgoing::Audio(frame) => Message::binary(frame),
                };
                if sink.send(message).await.is_err() {
                    return "the connection failed";
                }
            }
            frame = source.next() => match frame {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<FromRecogniser>(&text) {
                    Ok(FromRecogniser::Text { stream, seq, text, is_final }) => {
                        let Some((speaker, seq)) = captions.deliver(stream, seq) else { continue };
                        let was_shown = if is_final {
                            shown.remove(&(stream, seq))
                        } else {
                            // A speaker who paused mid-utterance leaves an entry: bounded.
                            if shown.len() >= 4096 {
                                shown.clear();
                            }
                            !shown.insert((stream, seq))
                        };
                        if text.is_empty() && !was_shown {
                            continue;
                        }
                        hub.caption(&speaker.visit_id, &ServerMsg::Caption { from: speaker.peer_id, text, is_final, seq });
                        captions.metrics.captions.sent.inc();
                    }
                    Ok(FromRecogniser::Stats(stats)) => {
                        *captions.metrics.captions.stats.lock().unwrap_or_else(|e| e.into_inner()) = stats;
                    }
                    Ok(FromRecogniser::Ready { model, workers }) => tracing::info!(model, workers, "captions: recogniser connected"),
                    Err(_) => tracing::warn!("captions: an unreadable frame from the recogniser"),
                },
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "captions: reading from the recogniser");
                    return "the connection failed";
                }
                None => return "the connection closed",
            },
            () = &mut exited => return "the recogniser exited",
            _ = stop.changed() => return "the server is stopping",
        }
    }
}
