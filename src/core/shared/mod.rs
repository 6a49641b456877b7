//! Modules every feature may use (and that use no feature): prompts and menus, masking,
//! durations, links, invitations, pictures. See docs/ARCHITECTURE.md, "The dependency rule".

pub mod callback;
pub mod channel;
pub mod command;
pub mod duration;
pub mod events;
pub mod identity;
pub mod invite;
pub mod keyword;
pub mod mask;
pub mod menu;
pub mod otp;
pub mod qr_image;
pub mod routes;
pub mod scan;
pub mod signed;
