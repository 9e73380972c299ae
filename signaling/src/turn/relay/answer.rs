//! Building what the relay sends: STUN answers (signed when the request was) and the
//! two forms a peer's data takes on its way to a client.

use std::net::SocketAddr;

use turn_types::attribute::{Data as DataAttr, XorPeerAddress};
use turn_types::message::DATA;
use turn_types::stun::attribute::{ErrorCode, Software};
use turn_types::stun::message::{
    IntegrityAlgorithm, IntegrityKey, Message, MessageWrite, MessageWriteExt, MessageWriteVec,
};

/// The name the relay gives in SOFTWARE.
const SOFTWARE: &str = "Menkai relay";

/// An answer under construction: success or error, signed when the request was.
pub struct Answer<'a> {
    out: MessageWriteVec,
    key: Option<&'a IntegrityKey>,
}

impl<'a> Answer<'a> {
    pub fn success(request: &Message, key: Option<&'a IntegrityKey>) -> Self {
        Self {
            out: Message::builder_success(request, MessageWriteVec::new()),
            key,
        }
    }

    pub fn error(
        request: &Message,
        code: u16,
        reason: &str,
        key: Option<&'a IntegrityKey>,
    ) -> Self {
        let mut answer = Self {
            out: Message::builder_error(request, MessageWriteVec::new()),
            key,
        };
        if let Ok(error) = ErrorCode::new(code, reason) {
            answer.add(&error);
        }
        answer
    }

    pub fn add(&mut self, attribute: &dyn turn_types::stun::attribute::AttributeWrite) {
        // Only an attribute too long for a message fails, and none of ours is.
        let _ = self.out.add_attribute(attribute);
    }

    pub fn finish(mut self) -> Vec<u8> {
        if let Ok(software) = Software::new(SOFTWARE) {
            let _ = self.out.add_attribute(&software);
        }
        if let Some(key) = self.key {
            let _ = self
                .out
                .add_message_integrity_with_key(key, IntegrityAlgorithm::Sha1);
        }
        let _ = self.out.add_fingerprint();
        self.out.finish()
    }
}

/// ChannelData: number, length, data, and over TCP/TLS padding to four bytes
/// (RFC 8656 §12.5).
pub fn channel_frame(number: u16, data: &[u8], stream: bool) -> Vec<u8> {
    let padded = if stream {
        data.len().next_multiple_of(4)
    } else {
        data.len()
    };
    let mut frame = Vec::with_capacity(4 + padded);
    frame.extend_from_slice(&number.to_be_bytes());
    frame.extend_from_slice(&u16::try_from(data.len()).unwrap_or(u16::MAX).to_be_bytes());
    frame.extend_from_slice(data);
    frame.resize(4 + padded, 0);
    frame
}

/// A Data indication: `data` from `from`, for a peer without a channel.
pub fn data_indication(from: SocketAddr, data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Message::builder_indication(DATA, MessageWriteVec::new());
    let transaction = out.transaction_id();
    out.add_attribute(&XorPeerAddress::new(from, transaction))
        .ok()?;
    out.add_attribute(&DataAttr::new(data)).ok()?;
    Some(out.finish())
}

/// The payload of a ChannelData message (its four-byte header and any padding off).
pub fn channel_payload(frame: &[u8]) -> Option<&[u8]> {
    let length = usize::from(u16::from_be_bytes([*frame.get(2)?, *frame.get(3)?]));
    frame.get(4..4 + length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_data_is_padded_on_streams_only_and_its_payload_read_back() {
        let udp = channel_frame(0x4001, b"hello", false);
        assert_eq!(udp.len(), 9);
        let tcp = channel_frame(0x4001, b"hello", true);
        assert_eq!(tcp.len(), 12, "padded to four bytes");
        assert_eq!(channel_payload(&tcp), Some(&b"hello"[..]));
        assert_eq!(channel_payload(&udp[..6]), None, "cut short");
    }
}
