//! What `/metrics` reports, in the OpenMetrics text format Prometheus reads, through the
//! Prometheus project's own client crate: counters that run for the life of the
//! process (kept here, shared by the code that counts), and gauges read at each scrape
//! (today's visits by state, devices by status, the signaling hub's sockets and rooms).
//! The embedded relay's counters will join them here.

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

/// The counters, shared (cheap clones of the same atomics).
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub hellos: Family<HelloOutcome, Counter>,
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
        });
        for line in [
            "menkai_signaling_hellos_total{outcome=\"welcome\"} 2",
            "menkai_signaling_hellos_total{outcome=\"invalid_token\"} 1",
            "menkai_visits_today{state=\"scheduled\"} 3",
            "menkai_rooms_live 1",
            "menkai_signaling_sockets 5",
            "# EOF",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
