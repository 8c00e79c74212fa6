//! stateright models of spool's protocol cores. Each model wraps the very code
//! the broker runs.

pub mod log;
