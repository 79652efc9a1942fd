//! One file per page of the web app.

pub mod actions;
pub mod agenda;
pub mod appointments;
pub mod archives;
pub mod departures;
pub mod messages;
pub mod new_young_person;
pub mod notifications;
pub mod pilotage;
pub mod portfolio;
pub mod sign_in;
pub mod tasks;
pub mod transfers;
pub mod young_person;
