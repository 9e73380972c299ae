//! What every request handler shares: cheap to clone, `Arc`s inside, no globals.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::error::{Result, SignalingError};
use crate::facility::Facility;
use crate::passwords::Passwords;
use crate::signaling::Hub;
use crate::staff::Actor;
use crate::storage::Db;
use crate::storage::InvitationLink;
use crate::throttle::{LoginThrottle, Throttle, WhenFull};

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    /// Where families reach this server; prefix of every visit link.
    pub public_url: Arc<str>,
    /// Whether cookies get `Secure` (the public address is https).
    pub secure_cookies: bool,
    /// The facility settings, cached: nearly every page needs them.
    facility: Arc<RwLock<Facility>>,
    pub login_throttle: Arc<LoginThrottle>,
    /// Failed pairing attempts, per client address.
    pub pairing_throttle: Arc<Throttle>,
    /// The only place passwords are hashed and checked (bounded memory).
    pub passwords: Passwords,
    /// Signaling: who is connected to which visit.
    pub hub: Arc<Hub>,
    /// Whether `/metrics` answers anyone (otherwise loopback and API tokens only).
    pub metrics_public: bool,
    /// The counters `/metrics` reports.
    pub metrics: crate::metrics::Metrics,
    /// Links just made, so the page showing them survives a reload.
    pub recent_links: Arc<crate::invitations::recent::RecentLinks>,
    /// The mail server messages go through, as the Settings page describes it; `None`
    /// while e-mail is not set up (messages then wait in the outbox).
    pub mail: Option<crate::messages::smtp::Summary>,
    /// Pairing codes not yet used, so the devices page can show them all.
    pub pairing_codes: Arc<crate::devices::UnusedCodes>,
    /// Whether this server speaks TLS itself: then browsers are told to use nothing else
    /// (Strict-Transport-Security).
    pub hsts: bool,
    /// The embedded TURN relay, when it runs (for `/metrics`).
    pub relay: Option<Arc<crate::turn::relay::Relay>>,
    /// The embedded relay's daily keys, rotated by the scheduler.
    pub turn_keys: Option<Arc<crate::turn::credentials::DayKeys>>,
    /// Live captions, when a recogniser is installed; `None`: no page mentions them.
    pub captions: Option<crate::captions::Captions>,
}

impl AppState {
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        public_url: String,
        facility: Facility,
        hub: Arc<Hub>,
        passwords: Passwords,
    ) -> Self {
        Self {
            db,
            clock,
            secure_cookies: public_url.starts_with("https://"),
            public_url: public_url.into(),
            facility: Arc::new(RwLock::new(facility)),
            login_throttle: Arc::default(),
            pairing_throttle: Arc::new(Throttle::new(10_000, 3, WhenFull::Share)),
            passwords,
            hub,
            metrics_public: false,
            recent_links: Arc::default(),
            pairing_codes: Arc::default(),
            mail: None,
            metrics: crate::metrics::Metrics::default(),
            hsts: false,
            relay: None,
            turn_keys: None,
            captions: None,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn facility(&self) -> Facility {
        self.facility
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Revokes a device; its open socket, if any, is told and closed at once.
    pub async fn revoke_device(&self, id: String, actor: &Actor) -> Result<()> {
        self.db.revoke_device(id.clone(), actor, self.now()).await?;
        self.hub.revoke_device(&id);
        Ok(())
    }

    /// Replaces a guest's link; whoever is in the visit on the old link is told it was
    /// replaced and leaves at once. `email`: where messages go from now on (`None`:
    /// as before).
    pub async fn reissue_invitation(
        &self,
        visit_id: String,
        guest_id: String,
        email: Option<Option<String>>,
        actor: &Actor,
    ) -> Result<InvitationLink> {
        let link = self
            .db
            .reissue_invitation(
                visit_id,
                guest_id,
                email,
                self.facility(),
                actor,
                self.now(),
            )
            .await?;
        self.hub
            .end_guest(&link.guest_id, SignalingError::LinkReplaced);
        Ok(link)
    }

    /// Whether e-mail to families is set up (an `[smtp]` section).
    pub fn mail_ready(&self) -> bool {
        self.mail.is_some()
    }

    /// Stores new settings and updates the cache.
    pub async fn save_facility(&self, facility: Facility) -> Result<()> {
        self.db.save_facility(facility.clone()).await?;
        *self.facility.write().unwrap_or_else(|e| e.into_inner()) = facility;
        Ok(())
    }
}
