//! The pages' TypeScript types of the wire protocol (`web/types/wire.d.ts`) are
//! generated from the Rust frame types in `menkai-protocol`, which the server and
//! menkai-peer use: this test fails when the file and the types drift apart, so `tsc`
//! checks the pages against the frames the server really sends.
//!
//! After changing a frame type: `MENKAI_WRITE_TYPES=1 cargo test -p menkai --test e2e
//! protocol::` writes the file anew (then `tsc -p web/jsconfig.json`).

use menkai_protocol::{
    ClientMsg, ErrorCode, Health, IceServer, MediaProblem, PeerInfo, Role, ScheduleEntry,
    ServerMsg, VisitInfo, VisitMode, VisitState, check,
};
use ts_rs::{Config, TS};

use crate::support::workspace_root;

/// The declarations, in the order a reader meets them.
fn declarations() -> String {
    let cfg = Config::new().with_large_int("number");
    let decls = [
        Role::decl(&cfg),
        VisitState::decl(&cfg),
        VisitMode::decl(&cfg),
        ErrorCode::decl(&cfg),
        PeerInfo::decl(&cfg),
        VisitInfo::decl(&cfg),
        IceServer::decl(&cfg),
        ScheduleEntry::decl(&cfg),
        MediaProblem::decl(&cfg),
        check::Camera::decl(&cfg),
        check::Microphone::decl(&cfg),
        check::Speaker::decl(&cfg),
        check::Path::decl(&cfg),
        check::DeviceCheck::decl(&cfg),
        Health::decl(&cfg),
        ServerMsg::decl(&cfg),
        ClientMsg::decl(&cfg),
    ];
    let mut text = String::from(
        "// Generated from protocol/src/lib.rs (menkai-protocol) by tests/e2e/protocol.rs.\n\
         // Do not edit: change the Rust types, then run\n\
         //   MENKAI_WRITE_TYPES=1 cargo test -p menkai --test e2e protocol::\n\
         // The names the pages use are in protocol.d.ts.\n\n\
         import type { SignalData } from \"./protocol\";\n",
    );
    for decl in decls {
        text.push('\n');
        text.push_str("export ");
        text.push_str(decl.trim());
        text.push('\n');
    }
    text
}

#[test]
fn the_pages_typescript_types_are_the_frames_the_server_sends() {
    let path = workspace_root().join("web/types/wire.d.ts");
    let generated = declarations();
    if std::env::var_os("MENKAI_WRITE_TYPES").is_some() {
        std::fs::write(&path, &generated).expect("write wire.d.ts");
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == generated,
        "web/types/wire.d.ts differs from the Rust frame types; run\n  \
         MENKAI_WRITE_TYPES=1 cargo test -p menkai --test e2e protocol::\n\
         and commit the file. Generated now:\n{generated}"
    );
}
