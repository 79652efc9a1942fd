//! One file per page of the web app.

pub mod actions;
pub mod appointments;
pub mod sign_in;
pub mod tasks;
pub mod young_person;
