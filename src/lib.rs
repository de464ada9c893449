//! consentry: declarative admin-consent planning and verification for a multi-tenant Entra ID app
//! on the Microsoft Defender APIs.
//!
//! The pipeline, one module per stage:
//! manifest (parse, keep locations) → validate (collect every diagnostic, produce [`model`]) →
//! plan / verify (pure data out) → report (one module per format) → output.
//! The sandbox is the loopback stand-in for Entra ID that tests and the demo run against.

pub mod aadsts;
pub mod app;
pub mod auth;
pub mod catalog;
pub mod cli;
pub mod cloud;
pub mod consent;
pub mod demo;
pub mod exit;
pub mod graph;
pub mod init;
pub mod jwt;
pub mod manifest;
pub mod model;
pub mod output;
pub mod plan;
pub mod report;
pub mod sandbox;
pub mod secret;
pub mod validate;
pub mod verify;
