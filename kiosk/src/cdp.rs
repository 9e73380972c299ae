//! A few calls of the Chrome DevTools Protocol over one WebSocket: commands with ids
//! answered by id, and events. That is all the kiosk needs (permissions, a script for
//! new documents, navigation, a timed evaluation as heartbeat, crash events), so a
//! full CDP crate, with its generated bindings for thousands of methods, would be
//! mostly weight; this stays small and uses the WebSocket library already in the tree.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// An event the browser sent: `method`, `params`, and the session it belongs to.
#[derive(Debug, Clone)]
pub struct Event {
    pub method: String,
    pub params: Value,
    pub session: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CdpError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the DevTools connection closed")]
    Closed,
    #[error("the browser refused {method}: {message}")]
    Refused { method: String, message: String },
    #[error("cannot connect to DevTools: {0}")]
    Connect(String),
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;

/// One DevTools connection (to the browser; page sessions ride on it, "flattened").
#[derive(Clone)]
pub struct Cdp {
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
    next: Arc<AtomicU64>,
}

impl Cdp {
    /// Connects to a browser's DevTools WebSocket; events arrive on the receiver, which
    /// ends when the connection does.
    pub async fn connect(url: &str) -> Result<(Cdp, mpsc::UnboundedReceiver<Event>), CdpError> {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| CdpError::Connect(e.to_string()))?;
        Ok(Self::over(ws))
    }

    /// Like [`Cdp::connect`], over a connection already made (e.g. a socket opened in
    /// another network namespace, where the browser's loopback port lives).
    pub async fn connect_over<S>(
        url: &str,
        stream: S,
    ) -> Result<(Cdp, mpsc::UnboundedReceiver<Event>), CdpError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (ws, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .map_err(|e| CdpError::Connect(e.to_string()))?;
        Ok(Self::over(ws))
    }

    fn over<S>(ws: tokio_tungstenite::WebSocketStream<S>) -> (Cdp, mpsc::UnboundedReceiver<Event>)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sink, mut stream) = ws.split();
        let (out, mut outbox) = mpsc::unbounded_channel::<String>();
        let (events_tx, events) = mpsc::unbounded_channel();
        let pending: Pending = Arc::default();
        tokio::spawn(async move {
            while let Some(text) = outbox.recv().await {
                if sink.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
        });
        let answers = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                if let Some(id) = frame["id"].as_u64() {
                    let waiter = answers.lock().ok().and_then(|mut p| p.remove(&id));
                    if let Some(waiter) = waiter {
                        let answer = match frame.get("error") {
                            Some(error) => Err(error["message"]
                                .as_str()
                                .unwrap_or("unknown error")
                                .to_owned()),
                            None => Ok(frame["result"].clone()),
                        };
                        let _ = waiter.send(answer);
                    }
                } else if let Some(method) = frame["method"].as_str() {
                    let _ = events_tx.send(Event {
                        method: method.to_owned(),
                        params: frame["params"].clone(),
                        session: frame["sessionId"].as_str().map(str::to_owned),
                    });
                }
            }
            // Closed: every caller still waiting learns it now.
            if let Ok(mut pending) = answers.lock() {
                pending.clear();
            }
        });
        (
            Cdp {
                out,
                pending,
                next: Arc::new(AtomicU64::new(1)),
            },
            events,
        )
    }

    /// Sends a command (to the browser, or to a page session) and waits for its answer.
    pub async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
        within: Duration,
    ) -> Result<Value, CdpError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut frame = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            frame["sessionId"] = json!(session);
        }
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .map_err(|_| CdpError::Closed)?
            .insert(id, tx);
        self.out
            .send(frame.to_string())
            .map_err(|_| CdpError::Closed)?;
        let answer = tokio::time::timeout(within, rx).await;
        if let Ok(mut pending) = self.pending.lock() {
            pending.remove(&id);
        }
        match answer {
            Err(_) => Err(CdpError::Timeout(within)),
            Ok(Err(_)) => Err(CdpError::Closed),
            Ok(Ok(Err(message))) => Err(CdpError::Refused {
                method: method.to_owned(),
                message,
            }),
            Ok(Ok(Ok(result))) => Ok(result),
        }
    }

    /// Grants `permissions` (`camera`, `microphone`, …) to `origin` only, with no
    /// prompt: per origin, unlike Chromium's fake-UI switch, which grants every origin.
    pub async fn grant(
        &self,
        origin: &str,
        permissions: &[&str],
        within: Duration,
    ) -> Result<(), CdpError> {
        for permission in permissions {
            self.call(
                None,
                "Browser.setPermission",
                json!({ "permission": { "name": permission }, "setting": "granted", "origin": origin }),
                within,
            )
            .await?;
        }
        Ok(())
    }

    /// Attaches to the first page target; returns its session id.
    pub async fn attach_to_page(&self, within: Duration) -> Result<String, CdpError> {
        let targets = self
            .call(None, "Target.getTargets", json!({}), within)
            .await?;
        let page = targets["targetInfos"]
            .as_array()
            .and_then(|all| all.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["targetId"].as_str())
            .map(str::to_owned);
        let target_id = match page {
            Some(id) => id,
            None => self
                .call(
                    None,
                    "Target.createTarget",
                    json!({ "url": "about:blank" }),
                    within,
                )
                .await?["targetId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        };
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target_id, "flatten": true }),
                within,
            )
            .await?;
        attached["sessionId"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| CdpError::Refused {
                method: "Target.attachToTarget".into(),
                message: "no session id".into(),
            })
    }

    /// Evaluates an expression in a page (awaiting a promise) and returns its value.
    pub async fn evaluate(
        &self,
        session: &str,
        expression: &str,
        within: Duration,
    ) -> Result<Value, CdpError> {
        let result = self
            .call(
                Some(session),
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
                within,
            )
            .await?;
        Ok(result["result"]["value"].clone())
    }
}
