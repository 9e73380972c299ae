//! What `/metrics` reports, in the OpenMetrics text format Prometheus reads, through the
//! Prometheus project's own client crate: counters that run for the life of the
//! process (kept here, shared by the code that counts), and gauges read at each scrape
//! (today's visits by state, devices by status, the signaling hub's sockets and rooms).
//! The embedded relay counts allocations, relayed bytes and packets by client
//! transport and direction, and refusals by reason.
//!
//! [`Refusals`] counts what anyone can make the server refuse without an account
//! (wrong logins and pairing codes, failed TLS handshakes, junk sent to the relay).
//! Such events must never write a log line each: a sender who controls how often they
//! happen would control how fast the disk fills. They are counted here and told in the
//! log at most once a minute per kind, with the count.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// How a signaling `hello` ended: `welcome`, or the code it was refused with.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HelloOutcome {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabel {
    transport: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FlowLabel {
    transport: &'static str,
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

/// How often each kind of refusal may be told in the log.
const TELL_EVERY: Duration = Duration::from_secs(60);

/// Refusals anyone can cause, by kind: counted for `/metrics`, summarised in the log.
#[derive(Clone, Debug, Default)]
pub struct Refusals {
    counts: Family<KindLabel, Counter>,
    told: Arc<Mutex<HashMap<&'static str, Told>>>,
}

#[derive(Debug, Default)]
struct Told {
    /// When this kind was last told (never yet: `None`).
    at: Option<Instant>,
    /// Refusals of this kind since it was last told.
    since: u64,
}

impl Refusals {
    /// One refusal of `kind` (`login`, `pairing`, `tls_handshake`, `malformed_stun`…).
    pub fn note(&self, kind: &'static str) {
        self.counts.get_or_create(&KindLabel { kind }).inc();
        if let Some(count) = self.due(kind, Instant::now()) {
            tracing::warn!(
                kind,
                count,
                "refused requests (counted on /metrics as menkai_refused_total; told here at most once a minute)"
            );
        }
    }

    /// Counts a refusal; the number to tell if this kind's minute is up.
    fn due(&self, kind: &'static str, now: Instant) -> Option<u64> {
        let mut told = self.told.lock().unwrap_or_else(|e| e.into_inner());
        let entry = told.entry(kind).or_default();
        entry.since += 1;
        if entry
            .at
            .is_some_and(|at| now.duration_since(at) < TELL_EVERY)
        {
            return None;
        }
        entry.at = Some(now);
        Some(std::mem::take(&mut entry.since))
    }

    pub fn count(&self, kind: &'static str) -> u64 {
        self.counts.get_or_create(&KindLabel { kind }).get()
    }
}

/// The embedded relay's counters.
#[derive(Clone, Debug, Default)]
pub struct RelayCounters {
    allocations: Family<TransportLabel, Counter>,
    bytes: Family<FlowLabel, Counter>,
    packets: Family<FlowLabel, Counter>,
    refusals: Family<ReasonLabel, Counter>,
    /// Junk that is not TURN at all is summarised in the log too.
    noise: Refusals,
}

impl RelayCounters {
    pub fn allocated(&self, transport: &'static str) {
        self.allocations
            .get_or_create(&TransportLabel { transport })
            .inc();
    }

    /// One relayed packet of `bytes` (direction `to_peer` or `to_client`).
    pub fn relayed(&self, transport: &'static str, direction: &'static str, bytes: usize) {
        let label = FlowLabel {
            transport,
            direction,
        };
        self.bytes.get_or_create(&label).inc_by(bytes as u64);
        self.packets.get_or_create(&label).inc();
    }

    pub fn refused(&self, reason: &'static str) {
        self.refusals.get_or_create(&ReasonLabel { reason }).inc();
        if reason == "malformed" {
            self.noise.note("malformed_stun");
        }
    }
}

/// The counters, shared (cheap clones of the same atomics).
#[derive(Clone, Debug)]
pub struct Metrics {
    pub hellos: Family<HelloOutcome, Counter>,
    pub relay: RelayCounters,
    pub refusals: Refusals,
    /// Pages that stopped on an error of their own and said so (`client_error`).
    pub client_errors: Counter,
    /// Messages to families, by what happened (sent, retry, failed, dropped).
    messages: Family<StateLabel, Counter>,
    pub captions: CaptionCounters,
}

/// Live captions: what the recogniser last reported, and what this server counted.
#[derive(Debug, Clone, Default)]
pub struct CaptionCounters {
    /// The recogniser is connected now (0 or 1).
    pub up: Gauge<i64>,
    /// Its counters (menkai_protocol::captions::Stats), as last reported.
    pub stats: Arc<Mutex<menkai_protocol::captions::Stats>>,
    /// Caption frames sent to devices.
    pub sent: Counter,
    /// Audio frames dropped because the recogniser was away or behind.
    pub audio_dropped: Counter,
    /// Times the recogniser was (re)started or reconnected.
    pub starts: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let refusals = Refusals::default();
        Self {
            hellos: Family::default(),
            relay: RelayCounters {
                noise: refusals.clone(),
                ..RelayCounters::default()
            },
            refusals,
            client_errors: Counter::default(),
            messages: Family::default(),
            captions: CaptionCounters::default(),
        }
    }
}

/// What is read from storage and the hub at a scrape.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub visits_today: Vec<(&'static str, i64)>,
    pub devices: Vec<(&'static str, i64)>,
    pub sockets: i64,
    pub rooms: i64,
    pub live_rooms: i64,
    pub devices_online: i64,
    /// The embedded relay's allocations now (`None`: the relay is off).
    pub relay_allocations: Option<i64>,
}

impl Metrics {
    /// Counts one `hello`.
    pub fn hello(&self, outcome: &'static str) {
        self.hellos.get_or_create(&HelloOutcome { outcome }).inc();
    }

    /// Counts what happened to one message of the outbox.
    pub fn message(&self, state: &'static str) {
        self.messages.get_or_create(&StateLabel { state }).inc();
    }

    /// The scrape's text.
    pub fn encode(&self, now: &Snapshot) -> String {
        let mut registry = Registry::with_prefix("menkai");
        registry.register(
            "refused",
            "Requests anyone can send that were refused, by kind (wrong logins and pairing codes, failed TLS handshakes, junk sent to the relay)",
            self.refusals.counts.clone(),
        );
        registry.register(
            "client_errors",
            "Pages that stopped on an error in the browser (a bug, or a browser they did not expect) and said so",
            self.client_errors.clone(),
        );
        registry.register(
            "messages",
            "Tries to send a message to a family, by outcome (sent, retry, failed, dropped)",
            self.messages.clone(),
        );
        registry.register(
            "signaling_hellos",
            "Signaling sockets that said hello, by outcome (welcome or the refusal code)",
            self.hellos.clone(),
        );
        let visits = Family::<StateLabel, Gauge>::default();
        for (state, n) in &now.visits_today {
            visits.get_or_create(&StateLabel { state }).set(*n);
        }
        registry.register("visits_today", "Visits starting today, by state", visits);
        registry.register(
            "turn_allocations_created",
            "Relay allocations made, by the client's transport",
            self.relay.allocations.clone(),
        );
        registry.register(
            "turn_relayed_bytes",
            "Bytes relayed, by the client's transport and direction",
            self.relay.bytes.clone(),
        );
        registry.register(
            "turn_relayed_packets",
            "Packets relayed, by the client's transport and direction",
            self.relay.packets.clone(),
        );
        registry.register(
            "turn_refusals",
            "Relay requests and packets refused, by reason",
            self.relay.refusals.clone(),
        );
        if let Some(n) = now.relay_allocations {
            let gauge = Gauge::<i64>::default();
            gauge.set(n);
            registry.register("turn_allocations", "Relay allocations now", gauge);
        }
        let devices = Family::<StatusLabel, Gauge>::default();
        for (status, n) in &now.devices {
            devices.get_or_create(&StatusLabel { status }).set(*n);
        }
        registry.register("devices", "Devices, by status", devices);
        for (name, help, value) in [
            (
                "signaling_sockets",
                "Signaling sockets open now",
                now.sockets,
            ),
            ("rooms", "Visits with a room in the hub now", now.rooms),
            (
                "rooms_live",
                "Rooms with two or more endpoints connected",
                now.live_rooms,
            ),
            (
                "devices_online",
                "Devices with a signaling socket open now",
                now.devices_online,
            ),
        ] {
            let gauge = Gauge::<i64>::default();
            gauge.set(value);
            registry.register(name, help, gauge);
        }
        self.captions.register(&mut registry);
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}

impl CaptionCounters {
    fn register(&self, registry: &mut Registry) {
        let stats = *self.stats.lock().unwrap_or_else(|e| e.into_inner());
        registry.register(
            "captions_up",
            "The recogniser is connected (1) or not (0)",
            self.up.clone(),
        );
        registry.register(
            "captions_starts",
            "Times the recogniser was started or reconnected",
            self.starts.clone(),
        );
        registry.register(
            "captions_sent",
            "Caption frames sent to the resident's devices",
            self.sent.clone(),
        );
        registry.register(
            "captions_audio_dropped",
            "Audio frames dropped because the recogniser was away or behind",
            self.audio_dropped.clone(),
        );
        for (name, help, value) in [
            (
                "captions_utterances",
                "Utterances the recogniser heard (as reported by it)",
                stats.utterances,
            ),
            ("captions_finals", "Final captions recognised", stats.finals),
            (
                "captions_partials",
                "Partial captions recognised",
                stats.partials,
            ),
            (
                "captions_partials_dropped",
                "Partials dropped: replaced by a newer one, or waited too long",
                stats.partials_dropped,
            ),
            (
                "captions_empty",
                "Utterances that came out empty (noise)",
                stats.empty,
            ),
        ] {
            let counter = Counter::<u64>::default();
            counter.inc_by(value);
            registry.register(name, help, counter);
        }
        let seconds = Counter::<f64, std::sync::atomic::AtomicU64>::default();
        seconds.inc_by(stats.recognition_seconds);
        registry.register(
            "captions_recognition_seconds",
            "Time spent recognising, all jobs",
            seconds,
        );
        let jobs = Counter::<u64>::default();
        jobs.inc_by(stats.jobs);
        registry.register("captions_jobs", "Recognition jobs run", jobs);
        let queue = Gauge::<i64>::default();
        queue.set(i64::try_from(stats.queue).unwrap_or(i64::MAX));
        registry.register("captions_queue", "Recognition jobs waiting now", queue);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_told_at_once_then_at_most_once_a_minute_with_the_count() {
        let refusals = Refusals::default();
        let start = Instant::now();
        assert_eq!(refusals.due("login", start), Some(1), "the first is told");
        for n in 1..1000 {
            let at = start + Duration::from_millis(n);
            assert_eq!(refusals.due("login", at), None, "a flood is not");
        }
        assert_eq!(refusals.due("pairing", start), Some(1), "kinds apart");
        let later = start + TELL_EVERY + Duration::from_secs(1);
        assert_eq!(refusals.due("login", later), Some(1000), "then the count");
    }

    #[test]
    fn junk_sent_to_the_relay_is_counted_as_a_refusal_anyone_can_cause() {
        let metrics = Metrics::default();
        metrics.relay.refused("malformed");
        metrics.relay.refused("no_credentials");
        assert_eq!(metrics.refusals.count("malformed_stun"), 1);
        let text = metrics.encode(&Snapshot::default());
        assert!(
            text.contains("menkai_refused_total{kind=\"malformed_stun\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn the_scrape_has_counters_and_gauges_in_openmetrics_text() {
        let metrics = Metrics::default();
        metrics.hello("welcome");
        metrics.hello("welcome");
        metrics.hello("invalid_token");
        let text = metrics.encode(&Snapshot {
            visits_today: vec![("scheduled", 3), ("live", 1)],
            devices: vec![("paired", 2)],
            sockets: 5,
            rooms: 1,
            live_rooms: 1,
            devices_online: 2,
            relay_allocations: Some(4),
        });
        metrics.relay.relayed("udp", "to_peer", 100);
        metrics.relay.refused("loopback");
        let text = format!("{text}{}", metrics.encode(&Snapshot::default()));
        for line in [
            "menkai_signaling_hellos_total{outcome=\"welcome\"} 2",
            "menkai_signaling_hellos_total{outcome=\"invalid_token\"} 1",
            "menkai_visits_today{state=\"scheduled\"} 3",
            "menkai_rooms_live 1",
            "menkai_signaling_sockets 5",
            "menkai_turn_allocations 4",
            "menkai_turn_relayed_bytes_total{transport=\"udp\",direction=\"to_peer\"} 100",
            "menkai_turn_refusals_total{reason=\"loopback\"} 1",
            "# EOF",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
