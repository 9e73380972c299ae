//! `menkai-kiosk`: the entrance laptop's keeper. It pairs the laptop with the Menkai
//! server once (`pair`), then runs Chromium full screen on the server's device page and
//! keeps it there for months (`run`): it relaunches the browser when it exits, crashes
//! or hangs, and stops for good when staff remove the device. `doctor` checks
//! everything a visit needs; `install` makes it start at login.
//!
//! The browser is driven over the Chrome DevTools Protocol (`cdp`), a few calls over
//! the WebSocket library already in the tree: permissions per origin, the device token
//! handed to the page without a command line or a URL, and a heartbeat into the page.

pub mod browser;
pub mod cdp;
pub mod doctor;
pub mod error;
pub mod i18n;
pub mod install;
pub mod pairing;
pub mod server;
pub mod watchdog;
