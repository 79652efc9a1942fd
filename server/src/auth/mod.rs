//! Accounts: password hashing, opaque tokens and the extractor that authenticates requests.

pub mod extractor;
pub mod password;
pub mod tokens;

pub use extractor::AuthUser;
pub use password::Passwords;
