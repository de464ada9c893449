//! consentry: declarative admin-consent planning and verification for a multi-tenant Entra ID app
//! on the Microsoft Defender APIs.
//!
//! The pipeline, one module per stage:
//! manifest (parse, keep locations) → validate (collect every diagnostic, produce [`model`]) →
//! plan / verify (pure data out) → report (one module per format) → output.

pub mod aadsts;
pub mod auth;
pub mod catalog;
pub mod cloud;
pub mod consent;
pub mod exit;
pub mod jwt;
pub mod model;
pub mod output;
pub mod sandbox;
pub mod secret;
pub mod verify;
