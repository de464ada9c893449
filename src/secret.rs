//! The secret types, re-exported where callers found them before the credential module existed.
//! New code uses [`crate::credential`].

pub use crate::credential::{ExposeSecret, SecretString};
