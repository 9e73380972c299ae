//! What `/metrics` reports, in the OpenMetrics text format Prometheus reads, through the
//! Prometheus project's own client crate: counters that run for the life of the
//! process (kept here, shared by the code that counts), and gauges read at each scrape
//! (today's visits by state, devices by status, the signaling hub's sockets and rooms).
//! The embedded relay counts allocations, relayed bytes and packets by client
//! transport and direction, and refusals by reason.

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

/// The embedded relay's counters.
#[derive(Clone, Debug, Default)]
pub struct RelayCounters {
    allocations: Family<TransportLabel, Counter>,
    bytes: Family<FlowLabel, Counter>,
    packets: Family<FlowLabel, Counter>,
    refusals: Family<ReasonLabel, Counter>,
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
    }
}

/// The counters, shared (cheap clones of the same atomics).
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub hellos: Family<HelloOutcome, Counter>,
    pub relay: RelayCounters,
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

    /// The scrape's text.
    pub fn encode(&self, now: &Snapshot) -> String {
        let mut registry = Registry::with_prefix("menkai");
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
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
