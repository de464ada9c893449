//! The concurrency gate shared by every token request of a run: at most N attempts in flight,
//! one alone until the first answer, and closed for good once the app's credential is rejected.
//!
//! The slow start is what makes a wrong secret cost one request instead of N: the first answer
//! either closes the gate (credential rejected) or opens it to full width.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit, watch};

/// Limits attempts in flight and stops them all when the credential is rejected.
#[derive(Debug)]
pub struct Gate {
    semaphore: Semaphore,
    width: usize,
    opened: AtomicBool,
    closed: watch::Sender<bool>,
}

impl Gate {
    /// A gate for `width` attempts in flight (at least 1, at most what a semaphore can count). It
    /// starts one wide.
    pub fn new(width: usize) -> Self {
        Gate {
            semaphore: Semaphore::new(1),
            width: width.clamp(1, Semaphore::MAX_PERMITS),
            opened: AtomicBool::new(false),
            closed: watch::Sender::new(false),
        }
    }

    /// Waits for a slot. `None` once the gate is closed.
    pub async fn acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.semaphore.acquire().await.ok()
    }

    /// Widens the gate to full width after the first answer (idempotent).
    pub fn open(&self) {
        if !self.opened.swap(true, Ordering::AcqRel) {
            self.semaphore.add_permits(self.width - 1);
        }
    }

    /// Stops every waiting and future attempt.
    pub fn close(&self) {
        self.semaphore.close();
        self.closed.send_replace(true);
    }

    /// Whether the gate was closed.
    pub fn is_closed(&self) -> bool {
        self.semaphore.is_closed()
    }

    /// Sleeps for `wait` unless the gate closes first. Returns whether the sleep ran to the end.
    pub async fn sleep(&self, wait: Duration) -> bool {
        let mut closed = self.closed.subscribe();
        tokio::select! {
            () = tokio::time::sleep(wait) => !self.is_closed(),
            _ = closed.wait_for(|c| *c) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slow_start_then_full_width_then_closed() {
        let gate = Gate::new(3);
        let first = gate.acquire().await.unwrap();
        assert_eq!(gate.semaphore.available_permits(), 0);
        drop(first);
        gate.open();
        gate.open();
        assert_eq!(gate.semaphore.available_permits(), 3);
        gate.close();
        assert!(gate.acquire().await.is_none());
        assert!(
            !gate.sleep(Duration::from_secs(60)).await,
            "a closed gate ends sleeps at once"
        );
    }

    #[tokio::test]
    async fn close_wakes_a_sleeper() {
        let gate = std::sync::Arc::new(Gate::new(2));
        let sleeper = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.sleep(Duration::from_secs(60)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        gate.close();
        let woke = tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .unwrap()
            .unwrap();
        assert!(!woke);
        assert_eq!(Gate::new(0).width, 1);
        let huge = Gate::new(usize::MAX);
        huge.open();
        assert_eq!(huge.semaphore.available_permits(), Semaphore::MAX_PERMITS);
    }
}
