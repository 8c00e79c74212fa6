//! Command-line tools that work on spool's files, in the spirit of Kafka's scripts.

pub mod dump_log;
