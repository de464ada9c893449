//! `verify`: one app-only token per tenant × API, the roles each tenant really granted.

pub mod report;
