//! The hub without sockets, in simulated time: connections are queues the test reads,
//! the clock is a value the test moves (str0m's style). Each test is one scenario.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;
use tokio::sync::mpsc;

use super::*;
use crate::devices::{Device, DeviceKind};
use crate::visits::{Mode, Visit};

/// 2030-01-07 09:00 Tokyo.
fn nine() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 7, 0, 0, 0)
        .single()
        .expect("time")
}

fn visit() -> Visit {
    Visit {
        id: "v1".into(),
        resident_id: "r1".into(),
        resident_name: "Hanako".into(),
        resident_room: "201".into(),
        starts_at: nine(),
        ends_at: nine() + Duration::minutes(20),
        mode: Mode::Remote,
        ward_device_id: "tablet".into(),
        entrance_device_id: None,
        cancelled_at: None,
        ended_at: None,
        guests: vec![],
        sequence: 0,
        captions: false,
    }
}

fn tablet() -> Device {
    Device {
        id: "tablet".into(),
        name: "2F tablet".into(),
        kind: DeviceKind::Ward,
        pairing_expires_at: None,
        paired_at: Some(nine() - Duration::days(1)),
        revoked_at: None,
        last_seen_at: None,
        volume_percent: 100,
        health: None,
    }
}

fn hub(max_endpoints: usize) -> Hub {
    Hub::new(
        ResumeKey::new([7; 32]),
        HubConfig {
            max_endpoints,
            ..HubConfig::default()
        },
    )
}

/// One simulated socket: what the hub sent it, and whether it was told to close.
struct Client {
    conn: Conn,
    frames: mpsc::Receiver<Arc<str>>,
    kill: Arc<tokio::sync::Notify>,
}

impl Client {
    fn new(hub: &Hub) -> Client {
        let (conn, frames, kill) = Conn::new(hub.next_conn_id());
        Client { conn, frames, kill }
    }

    /// Every frame queued so far.
    fn received(&mut self) -> Vec<Value> {
        let mut all = vec![];
        while let Ok(frame) = self.frames.try_recv() {
            all.push(serde_json::from_str(&frame).expect("JSON frame"));
        }
        all
    }

    fn types(&mut self) -> Vec<String> {
        self.received()
            .iter()
            .map(|f| f["type"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Whether the hub asked for the socket to be closed.
    fn closed(&self) -> bool {
        // A stored permit is taken at once; a closed socket was notified.
        let notified = self.kill.notified();
        tokio::pin!(notified);
        notified.as_mut().enable()
    }
}

fn guest(v: &Visit, name: &str) -> Credential {
    // In these tests a guest's name is their invitation: the same name, the same link.
    Credential::Guest {
        visit: v.clone(),
        guest_id: name.into(),
        name: name.into(),
        revoked: false,
    }
}

/// A guest says hello with invitation `token`; returns the client and its welcome.
fn join(hub: &Hub, token: &str, resume: Option<&str>, now: DateTime<Utc>) -> (Client, Value) {
    let mut client = Client::new(hub);
    hub.hello(
        client.conn.clone(),
        token,
        resume,
        guest(&visit(), token),
        now,
    )
    .expect("welcomed");
    let welcome = client.received().remove(0);
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    (client, welcome)
}

fn peer_id(welcome: &Value) -> String {
    welcome["peer_id"].as_str().expect("peer id").to_owned()
}

fn tick(hub: &Hub, now: DateTime<Utc>, visits: &[Visit]) {
    hub.tick(now, visits, &hub.watched(), HashMap::new());
}

/// Taro and Jiro in the visit at `now`; then Jiro's network drops (no `leave`).
/// Returns Taro (nothing unread) and Jiro's welcome.
fn jiro_drops(hub: &Hub, now: DateTime<Utc>) -> (Client, Value) {
    let (mut taro, _) = join(hub, "taro-link", None, now);
    let (jiro, welcome) = join(hub, "jiro-link", None, now);
    taro.received();
    hub.dropped(jiro.conn.id, now);
    (taro, welcome)
}

#[test]
fn resume_within_the_grace_keeps_the_seat_without_peer_left() {
    let hub = hub(4);
    let now = nine();
    // 15 s after the drop (the grace is 20 s) Jiro is back.
    let (mut taro, welcome) = jiro_drops(&hub, now);
    tick(&hub, now + Duration::seconds(15), &[visit()]);
    let resume = welcome["resume"].as_str().expect("resume");
    let (_jiro, again) = join(&hub, "jiro-link", Some(resume), now + Duration::seconds(15));
    assert_eq!(peer_id(&again), peer_id(&welcome), "the same peer");
    tick(&hub, now + Duration::seconds(40), &[visit()]);
    assert!(
        !taro
            .types()
            .iter()
            .any(|t| t == "peer-left" || t == "peer-joined"),
        "Taro noticed nothing"
    );
    assert_eq!(hub.presence("v1").len(), 2);
}

#[test]
fn after_the_grace_the_others_get_peer_left() {
    let hub = hub(4);
    let now = nine();
    let (mut taro, welcome) = jiro_drops(&hub, now);
    tick(&hub, now + Duration::seconds(19), &[visit()]);
    assert!(
        !taro.types().contains(&"peer-left".to_owned()),
        "still within the grace"
    );
    tick(&hub, now + Duration::seconds(20), &[visit()]);
    let left: Vec<Value> = taro
        .received()
        .into_iter()
        .filter(|f| f["type"] == "peer-left")
        .collect();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["peer_id"], welcome["peer_id"]);
    assert_eq!(hub.presence("v1").len(), 1);
}

#[test]
fn the_end_of_a_visit_reaches_everyone() {
    let hub = hub(4);
    let now = nine();
    let mut tablet_client = Client::new(&hub);
    hub.hello(
        tablet_client.conn.clone(),
        "device-token",
        None,
        Credential::Device {
            device: Box::new(tablet()),
            open_visit: Some(visit()),
            schedule: vec![],
        },
        now,
    )
    .expect("device welcomed");
    let (mut taro, _) = join(&hub, "taro-link", None, now);
    let (mut jiro, _) = join(&hub, "jiro-link", None, now);
    for client in [&mut tablet_client, &mut taro, &mut jiro] {
        client.received();
    }
    tick(&hub, nine() + Duration::minutes(20), &[visit()]);
    for (who, client) in [
        ("tablet", &mut tablet_client),
        ("taro", &mut taro),
        ("jiro", &mut jiro),
    ] {
        let last = client.received().pop().expect("a last frame");
        assert_eq!(
            (last["type"].as_str(), last["state"].as_str()),
            (Some("visit"), Some("ended")),
            "{who}: {last}"
        );
    }
    assert!(taro.closed() && jiro.closed(), "guests' sockets close");
    assert!(
        !tablet_client.closed(),
        "the tablet stays connected for its next visit"
    );
    assert!(hub.presence("v1").is_empty());
}

#[test]
fn a_second_socket_on_one_invitation_takes_the_seat() {
    let hub = hub(4);
    let now = nine();
    let (mut taro, _) = join(&hub, "taro-link", None, now);
    let (mut phone, first) = join(&hub, "jiro-link", None, now);
    taro.received();
    // The same link opened on the PC: no resume token, another device.
    let (_pc, second) = join(&hub, "jiro-link", None, now);
    assert_ne!(peer_id(&second), peer_id(&first));
    let told = phone.received();
    assert_eq!(
        told.last().map(|f| f["code"].clone()),
        Some("joined_elsewhere".into())
    );
    assert!(phone.closed());
    let seen: Vec<(String, String)> = taro
        .received()
        .iter()
        .map(|f| {
            let id = f["peer_id"].as_str().or(f["peer"]["peer_id"].as_str());
            (
                f["type"].as_str().unwrap_or_default().to_owned(),
                id.unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("peer-left".to_owned(), peer_id(&first)),
            ("peer-joined".to_owned(), peer_id(&second))
        ]
    );
    assert_eq!(hub.presence("v1").len(), 2, "still one seat per link");
}

#[test]
fn the_fifth_endpoint_is_refused_visit_full() {
    let hub = hub(4);
    let now = nine();
    let mut clients = vec![];
    for link in ["a", "b", "c", "d"] {
        clients.push(join(&hub, link, None, now).0);
    }
    let fifth = Client::new(&hub);
    let refused = hub.hello(fifth.conn.clone(), "e", None, guest(&visit(), "e"), now);
    assert_eq!(refused, Err(SignalingError::VisitFull));
    // Someone leaves: there is room again.
    hub.leave(clients[0].conn.id);
    let sixth = Client::new(&hub);
    assert!(
        hub.hello(sixth.conn.clone(), "e", None, guest(&visit(), "e"), now)
            .is_ok()
    );
}

#[test]
fn a_guest_who_comes_early_is_let_in_when_the_link_opens() {
    let hub = hub(4);
    let early = nine() - Duration::minutes(30);
    let mut client = Client::new(&hub);
    hub.hello(
        client.conn.clone(),
        "taro-link",
        None,
        guest(&visit(), "Taro"),
        early,
    )
    .expect("waits");
    assert_eq!(client.received()[0]["code"], "too_early");
    tick(&hub, nine() - Duration::minutes(16), &[visit()]);
    assert!(client.received().is_empty());
    tick(&hub, nine() - Duration::minutes(15), &[visit()]);
    assert_eq!(client.types().first().map(String::as_str), Some("welcome"));
    assert!(!client.closed());
}

/// The scheduler asks which visits to read, reads them, then steps. A guest (or a
/// room) that arrived in between was not asked for: it must wait for the next step,
/// not be told its visit is gone.
#[test]
fn what_arrives_while_the_scheduler_reads_waits_for_the_next_step() {
    let hub = hub(4);
    let asked_before = hub.watched();
    let early = nine() - Duration::minutes(30);
    let mut waiting = Client::new(&hub);
    hub.hello(
        waiting.conn.clone(),
        "taro-link",
        None,
        guest(&visit(), "Taro"),
        early,
    )
    .expect("waits");
    let (mut seated, _) = join(&hub, "jiro-link", None, nine());
    seated.received();
    hub.tick(nine(), &[], &asked_before, HashMap::new());
    let told = waiting.received();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["code"], "too_early");
    assert!(!waiting.closed(), "the early guest still waits");
    let heard = seated.received();
    assert!(
        heard.iter().all(|f| f["state"] == "open"),
        "the room stays open: {heard:?}"
    );
    assert!(!seated.closed());
    // Asked for and not found: now the visit is gone.
    tick(&hub, nine(), &[]);
    assert!(waiting.closed());
    assert!(seated.closed());
}
