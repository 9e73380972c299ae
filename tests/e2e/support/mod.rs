//! Everything a scenario needs to run the real parts, in one place: the app in-process
//! (`app`), the real binary (`binary`), the captions recogniser (`captions`), a signaling client (`ws`), the browser
//! (`browser`), TLS and pebble (`tls`), coturn (`coturn`), the Rust peer (`peer`), a
//! TURN client (`turn_client`), figures read from outside (`measure`), and waits on
//! conditions (`wait`). Scenario
//! files hold only scenarios and take what they need from here by name.

pub mod app;
pub mod bidi;
pub mod binary;
pub mod browser;
pub mod captions;
pub mod coturn;
pub mod measure;
pub mod peer;
pub mod smtp;
pub mod tls;
pub mod turn_client;
pub mod wait;
pub mod ws;

pub use app::*;
pub use binary::*;
pub use browser::*;
pub use coturn::*;
pub use measure::*;
pub use peer::*;
pub use tls::*;
pub use wait::{settled, until};
pub use ws::*;
