// The signaling wire protocol (docs/PROTOCOL.md) under the names the pages use. The
// frames themselves are generated from the Rust types the server and menkai-peer use
// (protocol/src/lib.rs → wire.d.ts, checked by tests/e2e/protocol.rs), so the pages
// are type-checked against what the server really sends. Only `SignalData`, which the
// server relays without reading and the browser builds from DOM types, is written here.
//
// Only for the type checker (`tsc -p web/jsconfig.json`): nothing here is served or
// embedded. Scripts import the types in JSDoc, e.g.
//   /** @typedef {import("../../types/protocol").ServerFrame} ServerFrame */

import type * as Wire from "./wire";

export type Role = Wire.Role;
export type VisitState = Wire.VisitState;
export type VisitMode = Wire.VisitMode;
export type ErrorCode = Wire.ErrorCode;
export type PeerInfo = Wire.PeerInfo;
export type VisitInfo = Wire.VisitInfo;
export type IceServer = Wire.IceServer;
export type ScheduleEntry = Wire.ScheduleEntry;
export type MediaProblem = Wire.MediaProblem;
/** What a check (a family's, or a device's own) found of the camera. */
export type CameraWord = Wire.Camera;
/** What a check found of the microphone. */
export type MicWord = Wire.Microphone;
/** What the family said of the chime. */
export type SpeakerWord = Wire.Speaker;
/** The best way through to the relay a check found. */
export type Path = Wire.Path;
/** A device's own check, as its `health` carries it. */
export type DeviceCheck = Wire.DeviceCheck;

/**
 * What `signal` frames carry from one endpoint to another. The server relays it byte
 * for byte without reading it; Menkai's clients (these pages and menkai-peer, whose
 * `SignalData` is the same shape) send exactly these three shapes.
 */
export type SignalData =
  /** An offer or an answer (W3C perfect negotiation). */
  | { description: RTCSessionDescriptionInit }
  /** One ICE candidate, with the `sdpMid` of the first media section (all bundled). */
  | { candidate: RTCIceCandidateInit }
  /** "Rebuild our connection": it never found a path. */
  | { reset: true };

// ---- Server → client ----

export type ServerFrame = Wire.ServerMsg;
type ServerFrameOf<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;
export type WelcomeFrame = ServerFrameOf<"welcome">;
export type PeerJoinedFrame = ServerFrameOf<"peer-joined">;
export type PeerLeftFrame = ServerFrameOf<"peer-left">;
export type SignalFrame = ServerFrameOf<"signal">;
export type VisitFrame = ServerFrameOf<"visit">;
export type PongFrame = ServerFrameOf<"pong">;
export type ErrorFrame = ServerFrameOf<"error">;
export type ControlFrame = ServerFrameOf<"control">;
export type ScheduleFrame = ServerFrameOf<"schedule">;
/** To a device between visits: run the self-check now and report it in `health`. */
export type CheckFrame = ServerFrameOf<"check">;

// ---- Client → server ----

export type ClientFrame = Wire.ClientMsg;
type ClientFrameOf<T extends ClientFrame["type"]> = Extract<ClientFrame, { type: T }>;
export type HelloFrame = ClientFrameOf<"hello">;
export type OutgoingSignalFrame = ClientFrameOf<"signal">;
export type PingFrame = ClientFrameOf<"ping">;
export type LeaveFrame = ClientFrameOf<"leave">;
/** A device's health report: fields it cannot know are left out. */
export type HealthFrame = ClientFrameOf<"health">;
