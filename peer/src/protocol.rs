//! The wire protocol of docs/PROTOCOL.md, as defined once in `menkai-protocol` (the
//! server and the pages' TypeScript types use the same definitions), under the names
//! this endpoint reads them by. Roles and visit states are kept as the protocol's
//! words in [`crate::Snapshot`], which scripts print as JSON.

pub use menkai_protocol::{
    ClientMsg as ClientFrame, Description, ErrorCode, IceServer, PeerInfo, Role,
    ServerMsg as ServerFrame, SignalData, VisitState,
};

/// A value's word on the wire (`"guest"`, `"ended"`…).
pub fn word(value: impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(word)) => word,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_states_read_as_the_protocol_writes_them() {
        assert_eq!(word(Role::Guest), "guest");
        assert_eq!(word(VisitState::Cancelled), "cancelled");
    }
}
