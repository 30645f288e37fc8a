//! Registrar's domain: the model, its validated newtypes and the rules that decide access.
//!
//! Architecture invariant: this crate does no I/O and has no async code. Everything here can be
//! unit- and property-tested in microseconds, and every other crate trusts these types to be valid
//! once constructed.

// Tests may panic on a bad fixture; input-driven paths may not (workspace lint).
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod access;
pub mod course;
pub mod error;
pub mod group;
pub mod ids;
pub mod import;
pub mod lifecycle;
pub mod session;
pub mod team;
pub mod tenant;
pub mod text;
pub mod user;

pub use error::ValidationError;
