//! Placeholder replaced by the log model below.
