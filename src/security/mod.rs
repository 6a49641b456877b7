//! Security controls that sit beside the core rather than inside one feature (docs/SECURITY.md):
//! the panic guard around the handling of one update, throttles for failed attempts, the
//! check on the secret key file's permissions, key rotation and the retention job.

pub mod guard_quota;
pub mod keyfile;
pub mod keys;
pub mod panic_guard;
pub mod redact;
pub mod retention;
pub mod throttle;
