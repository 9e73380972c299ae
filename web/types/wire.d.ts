// Generated from protocol/src/lib.rs (menkai-protocol) by tests/e2e/protocol.rs.
// Do not edit: change the Rust types, then run
//   MENKAI_WRITE_TYPES=1 cargo test -p menkai --test e2e protocol::
// The names the pages use are in protocol.d.ts.

import type { SignalData } from "./protocol";

export type Role = "guest" | "ward" | "entrance";

export type VisitState = "scheduled" | "open" | "live" | "ended" | "cancelled";

export type VisitMode = "remote" | "entrance";

export type ErrorCode = "invalid_token" | "link_expired" | "link_replaced" | "visit_cancelled" | "too_early" | "visit_full" | "joined_elsewhere" | "bad_message" | "message_too_large" | "rate_limited" | "unknown_peer" | "device_revoked" | "internal";

export type PeerInfo = { peer_id: string, role: Role, name: string, };

export type VisitInfo = { id: string, resident: string, 
/**
 * RFC 3339.
 */
starts_at: string, 
/**
 * RFC 3339.
 */
ends_at: string, state: VisitState, 
/**
 * Live captions are on for this visit (an extension; only when the server has a
 * recogniser): the family's page sends its microphone's audio for recognition,
 * and the resident's devices show `caption` frames.
 */
captions?: boolean, };

export type IceServer = { urls: Array<string>, username?: string, credential?: string, };

export type ScheduleEntry = { id: string, resident: string, 
/**
 * RFC 3339.
 */
starts_at: string, 
/**
 * RFC 3339.
 */
ends_at: string, mode: VisitMode, };

export type MediaProblem = "insecure" | "denied" | "missing";

export type Camera = "ok" | "denied" | "in_use" | "missing" | "black" | "frozen" | "error";

export type Microphone = "ok" | "denied" | "in_use" | "missing" | "silent" | "error";

export type Speaker = "ok" | "not_heard";

export type Path = "direct" | "relay_udp" | "relay_tcp" | "relay_tls" | "none";

export type DeviceCheck = { 
/**
 * When it ran (RFC 3339, the server's time as the device knows it).
 */
checked_at?: string, camera?: Camera, microphone?: Microphone, path?: Path, up_kbps?: number, down_kbps?: number, rtt_ms?: number, };

export type Health = { 
/**
 * A camera is present and may be used.
 */
camera?: boolean, microphone?: boolean, camera_problem?: MediaProblem, microphone_problem?: MediaProblem, app?: string, browser?: string, 
/**
 * 0.0 (empty) to 1.0 (full).
 */
battery?: number, charging?: boolean, uptime_s?: number, restarts?: number, 
/**
 * In a call: whether its media goes through a relay (for staff troubleshooting).
 */
relayed?: boolean, 
/**
 * The latest self-check (every morning before visiting hours, and on staff's
 * "Check now").
 */
check?: DeviceCheck, };

export type ServerMsg = { "type": "welcome", peer_id: string, role: Role, 
/**
 * Sent back in the next `hello` after a drop, to take the same seat again.
 */
resume: string, 
/**
 * `null` for a device between visits.
 */
visit: VisitInfo | null, peers: Array<PeerInfo>, ice_servers: Array<IceServer>, 
/**
 * `"relay"` when the server wants relayed paths only (an extension: set by
 * `relay_only` to prove a relay set-up).
 */
ice_transport_policy?: RTCIceTransportPolicy, 
/**
 * Devices only: today's upcoming visits for this device (an extension).
 */
schedule?: Array<ScheduleEntry>, 
/**
 * Devices only (an extension): the playback volume staff set (1.0 = full;
 * above it the device amplifies).
 */
volume?: number, 
/**
 * The server's clock, RFC 3339 (an extension): lets clients with a wrong
 * clock time the end-of-visit notices right.
 */
now: string, } | { "type": "peer-joined", peer: PeerInfo, } | { "type": "peer-left", peer_id: string, } | { "type": "signal", from: string, 
/**
 * Relayed as the sender wrote it; Menkai's endpoints put [`SignalData`] in it.
 */
data: SignalData, } | { "type": "visit", state: VisitState, starts_at: string, ends_at: string, id?: string, resident?: string, 
/**
 * When it puts a device into a visit: fresh STUN/TURN servers, with relay
 * credentials good until the visit's end (a device's socket lives all day).
 */
ice_servers?: Array<IceServer>, 
/**
 * The server's clock (an extension).
 */
now: string, 
/**
 * Whether captions are on, when staff turned them on or off during the visit
 * (an extension; left out otherwise).
 */
captions?: boolean, } | { "type": "pong" } | { "type": "check", ice_servers: Array<IceServer>, } | { "type": "error", code: ErrorCode, 
/**
 * English, for logs; pages show their own translated text per code.
 */
message: string, } | { "type": "control", volume: number, } | { "type": "schedule", schedule: Array<ScheduleEntry>, } | { "type": "caption", from: string, text: string, final: boolean, seq: number, } | { "type": "captions", available: boolean, };

export type ClientMsg = { "type": "hello", token: string, resume?: string, } | { "type": "signal", to: string, data: SignalData, } | { "type": "ping" } | { "type": "leave" } | { "type": "client_error", 
/**
 * The error in short (at most [`CLIENT_ERROR_MAX`] characters).
 */
message: string, } | { "type": "health" } & Health | { "type": "captions", lang?: string, paused?: boolean, };
