//! Security (chapter 11): who is on the other end of a connection.
//!
//! [`sasl`] authenticates a connection on a SASL listener and names its
//! principal (`User:alice`); a PLAINTEXT connection's principal is
//! [`ANONYMOUS`].

pub mod sasl;

pub use crate::wire::codec::ANONYMOUS;
