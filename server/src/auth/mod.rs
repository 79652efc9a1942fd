//! Accounts: password hashing, opaque tokens and the extractor that authenticates requests.

pub mod extractor;
pub mod password;
pub mod throttle;
pub mod tokens;

pub use extractor::{AuthUser, ClientAddr};
pub use password::Passwords;
