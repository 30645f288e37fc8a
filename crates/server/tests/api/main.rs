//! One integration-test binary: the real server on port 0, driven over HTTP.
#![allow(clippy::unwrap_used)]

mod access;
mod app;
mod auth;
mod courses;
mod errors;
mod fault;
mod groups;
mod hardening;
mod helpers;
mod imports;
mod isolation;
mod one_decider;
mod one_rule;
mod operations;
mod reports;
mod scim;
mod seed_rules;
mod seed_rules_teams;
mod sessions;
mod ui;
mod users;
