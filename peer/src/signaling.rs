//! The signaling socket: connect to `/ws`, say `hello`, and read and write JSON frames.

use std::fmt;

use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::protocol::{ClientFrame, ErrorCode, ServerFrame, word};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What `welcome` told us.
pub(crate) struct Welcome {
    pub peer_id: String,
    pub role: String,
    pub resume: String,
    pub visit_state: Option<String>,
    pub peers: Vec<crate::protocol::PeerInfo>,
    pub ice_servers: Vec<crate::protocol::IceServer>,
    /// The server wants relayed paths only.
    pub relay_only: bool,
}

/// Why a peer did not get a seat.
#[derive(Debug)]
pub enum JoinError {
    /// No socket, or it broke before `welcome`: worth trying again.
    Unreachable(String),
    /// The server said no, with the protocol's error code (`invalid_token`, `visit_full`, …).
    Refused { code: String, message: String },
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Unreachable(why) => write!(f, "signaling unreachable: {why}"),
            JoinError::Refused { code, message } => write!(f, "refused: {code} ({message})"),
        }
    }
}

impl std::error::Error for JoinError {}

fn unreachable(err: impl fmt::Display) -> JoinError {
    JoinError::Unreachable(err.to_string())
}

/// Opens the socket and authenticates. A guest who is early waits here on the same
/// socket until the server welcomes it, as the protocol says.
pub(crate) async fn connect(
    url: &str,
    token: &str,
    resume: Option<&str>,
) -> Result<(Socket, Welcome), JoinError> {
    let (mut socket, _) = connect_async(url).await.map_err(unreachable)?;
    let hello = ClientFrame::Hello {
        token: token.to_owned(),
        resume: resume.map(str::to_owned),
    };
    send(&mut socket, &hello).await.map_err(unreachable)?;
    loop {
        match next(&mut socket).await.map_err(unreachable)? {
            Some(ServerFrame::Welcome {
                peer_id,
                role,
                resume,
                visit,
                peers,
                ice_servers,
                ice_transport_policy,
                ..
            }) => {
                let welcome = Welcome {
                    peer_id,
                    role: word(role),
                    resume,
                    visit_state: visit.map(|v| word(v.state)),
                    peers,
                    ice_servers,
                    relay_only: ice_transport_policy.as_deref() == Some("relay"),
                };
                return Ok((socket, welcome));
            }
            Some(ServerFrame::Error {
                code: ErrorCode::TooEarly,
                ..
            }) => continue,
            Some(ServerFrame::Error { code, message }) => {
                return Err(JoinError::Refused {
                    code: code.as_str().to_owned(),
                    message,
                });
            }
            Some(_) => continue,
            None => return Err(unreachable("closed before welcome")),
        }
    }
}

pub(crate) async fn send(socket: &mut Socket, frame: &ClientFrame) -> Result<()> {
    let text = serde_json::to_string(frame)?;
    socket.send(Message::text(text)).await?;
    Ok(())
}

/// The next frame of the protocol, `None` once the socket is closed. Frames this
/// peer cannot read are skipped (and logged): a newer server may send more.
pub(crate) async fn next(socket: &mut Socket) -> Result<Option<ServerFrame>> {
    while let Some(message) = socket.next().await {
        match message? {
            Message::Text(text) => match serde_json::from_str(&text) {
                Ok(frame) => return Ok(Some(frame)),
                Err(err) => tracing::warn!("unreadable frame from the server: {err}"),
            },
            Message::Close(_) => return Ok(None),
            _ => {}
        }
    }
    Ok(None)
}
