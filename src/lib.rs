//! consentry: declarative admin-consent planning and verification for a multi-tenant Entra ID app
//! on the Microsoft Defender APIs.
//!
//! The pipeline, one module per stage:
//! manifest (parse, keep locations) → validate (collect every diagnostic, produce [`model`]) →
//! plan / verify (pure data out) → report (one module per format) → output.
//! The sandbox is the loopback stand-in for Entra ID that tests and the demo run against (cargo
//! feature `sandbox`, on by default; `--no-default-features` builds the library without a server).

pub mod app;
pub mod catalog;
pub mod cli;
pub mod cloud;
pub mod consent;
pub mod credential;
#[cfg(feature = "sandbox")]
pub mod demo;
pub mod entra;
pub mod exit;
pub mod graph;
pub mod http;
pub mod init;
pub mod input;
pub mod jwt;
pub mod manifest;
pub mod model;
pub mod output;
pub mod plan;
pub mod report;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod sanitize;
pub mod secret;
pub mod validate;
pub mod verify;

/// The AADSTS table, where `explain` and older paths find it.
pub use entra::aadsts;
