//! A panic while handling one update must not take a worker, the dispatcher or the bot with
//! it: the future is polled under `catch_unwind`, the panic is logged with its message, and the
//! caller gets an error (the adapters answer it with `error-generic`). The transaction the
//! future held is dropped during the unwind, so nothing it wrote is committed.

use futures::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;

/// The message a panic carried, for the log.
pub fn message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic without a message".to_string()
    }
}

/// Runs `fut`; a panic inside it becomes `Err(message)` after being logged with `what`.
///
/// `AssertUnwindSafe` is sound here because nothing the future borrowed is observed in a
/// half-updated state afterwards: shared state lives in the database (rolled back) or behind
/// locks whose guards are released by the unwind.
pub async fn catch<F: Future>(what: &'static str, fut: F) -> Result<F::Output, String> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(out) => Ok(out),
        Err(payload) => {
            // A panic message may quote input: mask IINs and phones before logging it.
            let msg = crate::domain::mask_personal(&message(payload.as_ref()));
            tracing::error!(target: "ashyq::panic", what, panic = %msg, "panic caught; the service keeps serving");
            Err(msg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_error_and_the_next_call_works() {
        let boom = catch("test", async {
            let v: Vec<u8> = Vec::new();
            #[allow(clippy::indexing_slicing)]
            v[usize::from(v.is_empty())]
        })
        .await;
        assert!(boom.unwrap_err().contains("index out of bounds"));
        let fine = catch("test", async { 7 }).await;
        assert_eq!(fine, Ok(7));
        let formatted = catch("test", async { panic!("n = {}", 3) }).await;
        assert_eq!(formatted, Err::<(), _>("n = 3".to_string()));
    }
}
