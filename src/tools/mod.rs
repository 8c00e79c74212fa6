//! Command-line tools in the spirit of Kafka's scripts: `dump_log` works on
//! spool's files; `topics`, `produce`, `consume` and `groups` speak the wire protocol to
//! a running broker through [`crate::client`], like any other client.

pub mod consume;
pub mod dump_log;
pub mod groups;
pub mod perf;
pub mod produce;
pub mod topics;
