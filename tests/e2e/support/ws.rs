//! A signaling WebSocket as a test client: hello, frames in and out, closes.

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::TestApp;

/// A signaling client over a real WebSocket.
pub struct Ws {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Ws {
    pub async fn connect(app: &TestApp) -> Ws {
        Ws::connect_to(&app.base).await
    }

    /// To the server at `base` (`http://…`), the in-process app's or a real binary's.
    pub async fn connect_to(base: &str) -> Ws {
        let url = format!("{}/ws", base.replacen("http://", "ws://", 1));
        let (stream, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket connects");
        Ws { stream }
    }

    /// Connects and says hello; returns the socket and the first frame it got back.
    pub async fn hello(app: &TestApp, token: &str, resume: Option<&str>) -> (Ws, Value) {
        Ws::hello_at(&app.base, token, resume).await
    }

    /// [`Ws::hello`] to the server at `base`.
    pub async fn hello_at(base: &str, token: &str, resume: Option<&str>) -> (Ws, Value) {
        let mut ws = Ws::connect_to(base).await;
        let mut hello = json!({"type": "hello", "token": token});
        if let Some(resume) = resume {
            hello["resume"] = json!(resume);
        }
        ws.send(hello).await;
        let first = ws.recv().await;
        (ws, first)
    }

    /// Sends a (large) frame while reading, as a browser does, until the server closes
    /// the socket; returns what it said meanwhile and whether it closed within 10 s.
    pub async fn send_while_reading(self, text: String) -> (Vec<Value>, bool) {
        use futures_util::{SinkExt, StreamExt};
        let (mut sink, mut stream) = self.stream.split();
        let sending = tokio::spawn(async move {
            // The server may close before the frame is all out: that is its answer.
            let _ = sink.send(Message::Text(text.into())).await;
        });
        let mut frames = vec![];
        let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while let Some(Ok(message)) = stream.next().await {
                if let Message::Text(text) = message
                    && let Ok(frame) = serde_json::from_str(&text)
                {
                    frames.push(frame);
                }
            }
        })
        .await
        .is_ok();
        sending.abort();
        (frames, closed)
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_text(frame.to_string()).await;
    }

    /// A binary frame (captions audio).
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        use futures_util::SinkExt;
        self.stream
            .send(Message::Binary(bytes.into()))
            .await
            .expect("send");
    }

    pub async fn send_text(&mut self, text: String) {
        use futures_util::SinkExt;
        self.stream
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// The next JSON frame within two seconds (server pings are skipped).
    pub async fn recv(&mut self) -> Value {
        self.try_recv(std::time::Duration::from_secs(2))
            .await
            .expect("a frame within 2 s")
    }

    /// The next JSON frame, or `None` if the socket closed or nothing came in time.
    pub async fn try_recv(&mut self, within: std::time::Duration) -> Option<Value> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            match next.ok()? {
                Message::Text(text) => return serde_json::from_str(text.as_str()).ok(),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Frames until one of `kind` arrives; returns it.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        for _ in 0..20 {
            let frame = self.recv().await;
            if frame["type"] == kind {
                return frame;
            }
        }
        panic!("no {kind} frame");
    }

    /// Whether the server closes the socket within two seconds (frames before the
    /// close are skipped; silence is not a close).
    pub async fn closed(&mut self) -> bool {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Frames until one of `kind` whose `field` equals `value`; earlier ones (such as
    /// an announcement of the state already known) are skipped.
    pub async fn recv_where(&mut self, kind: &str, field: &str, value: &str) -> Value {
        for _ in 0..20 {
            let frame = self.recv_type(kind).await;
            if frame[field] == value {
                return frame;
            }
        }
        panic!("no {kind} frame with {field} = {value}");
    }
}
