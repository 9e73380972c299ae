//! The sending half of one socket, as the hub holds it: a bounded queue and a way to
//! close. The hub never waits on a socket: a client that cannot keep up is cut off
//! rather than allowed to grow the server's memory.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

use super::super::protocol::{self, ServerMsg};
use crate::error::SignalingError;

/// Frames waiting to be written to one socket. Small: signaling is a trickle.
pub const OUTBOX_FRAMES: usize = 64;

pub type ConnId = u64;

#[derive(Debug, Clone)]
pub struct Conn {
    pub id: ConnId,
    tx: mpsc::Sender<Arc<str>>,
    /// Tells the socket's tasks to close it.
    kill: Arc<Notify>,
}

impl Conn {
    /// A connection, the queue its writer drains, and the signal that closes it.
    pub fn new(id: ConnId) -> (Conn, mpsc::Receiver<Arc<str>>, Arc<Notify>) {
        let (tx, rx) = mpsc::channel(OUTBOX_FRAMES);
        let kill = Arc::new(Notify::new());
        (
            Conn {
                id,
                tx,
                kill: kill.clone(),
            },
            rx,
            kill,
        )
    }

    /// Queues a frame; a full or closed queue closes the socket.
    pub fn send(&self, frame: Arc<str>) {
        if self.tx.try_send(frame).is_err() {
            self.close();
        }
    }

    pub fn send_msg(&self, msg: &ServerMsg) {
        self.send(msg.to_json());
    }

    /// Says why, then closes.
    pub fn refuse(&self, error: SignalingError) {
        self.send_msg(&protocol::error_frame(error));
        self.close();
    }

    pub fn close(&self) {
        self.kill.notify_one();
    }
}
