//! WebDriver BiDi, the standard both Chromium's and Firefox's drivers speak over a
//! WebSocket beside classic WebDriver: the browser's console (every error a page logs
//! or throws, so a test fails on it) and scripts run before a page's own (to take an
//! API away, as an older browser would lack it). Only what the tests use.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// One line of a page's console, or an uncaught exception.
#[derive(Clone, Debug)]
pub struct ConsoleEntry {
    /// "error", "warn", "info" or "debug".
    pub level: String,
    pub text: String,
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A BiDi session's socket: commands out, their answers and the console's entries in.
pub struct Bidi {
    commands: mpsc::UnboundedSender<(u64, Value, oneshot::Sender<Value>)>,
    next_id: Mutex<u64>,
    pub console: Arc<Mutex<Vec<ConsoleEntry>>>,
}

impl Bidi {
    /// Connects to the `webSocketUrl` the new session returned and subscribes to the
    /// console of every page in it.
    pub async fn connect(url: &str) -> Bidi {
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .unwrap_or_else(|e| panic!("WebDriver BiDi at {url}: {e}"));
        let (mut write, mut read) = socket.split();
        let console = Arc::new(Mutex::new(Vec::new()));
        let pending: Pending = Arc::default();
        let (commands, mut outgoing) =
            mpsc::unbounded_channel::<(u64, Value, oneshot::Sender<Value>)>();
        let (reader_console, reader_pending) = (console.clone(), pending.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    command = outgoing.recv() => {
                        let Some((id, body, answer)) = command else { break };
                        reader_pending.lock().expect("lock").insert(id, answer);
                        if write.send(Message::text(body.to_string())).await.is_err() {
                            break;
                        }
                    }
                    frame = read.next() => {
                        let Some(Ok(Message::Text(text))) = frame else {
                            if frame.is_none() { break } else { continue }
                        };
                        let Ok(message) = serde_json::from_str::<Value>(&text) else { continue };
                        if let Some(id) = message["id"].as_u64() {
                            if let Some(answer) = reader_pending.lock().expect("lock").remove(&id) {
                                let _ = answer.send(message);
                            }
                        } else if message["method"] == "log.entryAdded" {
                            reader_console.lock().expect("lock").push(entry_of(&message["params"]));
                        }
                    }
                }
            }
        });
        let bidi = Bidi {
            commands,
            next_id: Mutex::new(1),
            console,
        };
        bidi.command("session.subscribe", json!({ "events": ["log.entryAdded"] }))
            .await;
        bidi
    }

    /// Sends one command and returns its result (the test fails on an error answer).
    pub async fn command(&self, method: &str, params: Value) -> Value {
        let id = {
            let mut next = self.next_id.lock().expect("lock");
            *next += 1;
            *next
        };
        let (answer, result) = oneshot::channel();
        let body = json!({ "id": id, "method": method, "params": params });
        self.commands
            .send((id, body, answer))
            .expect("the BiDi socket is open");
        let message = tokio::time::timeout(std::time::Duration::from_secs(20), result)
            .await
            .unwrap_or_else(|_| panic!("no answer to BiDi {method} in 20 s"))
            .expect("BiDi answer");
        assert_ne!(message["type"], "error", "BiDi {method}: {message}");
        message["result"].clone()
    }

    /// Runs `source` (a function's text) in every page this session opens from now
    /// on, before the page's own scripts.
    pub async fn add_preload_script(&self, source: &str) {
        self.command(
            "script.addPreloadScript",
            json!({ "functionDeclaration": source }),
        )
        .await;
    }
}

/// A `log.entryAdded` event's params in short: its level and its text (with the
/// exception's stack's first line for uncaught errors).
fn entry_of(params: &Value) -> ConsoleEntry {
    let text = params["text"].as_str().unwrap_or_default().to_owned();
    let text = if text.is_empty() {
        params["args"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|arg| arg["value"].to_string())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        text
    };
    ConsoleEntry {
        level: params["level"].as_str().unwrap_or("info").to_owned(),
        text,
    }
}
