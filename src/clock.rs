//! Time for the retry and polling loops, injectable: [`SystemClock`] in
//! the program, [`FakeClock`] in tests (its sleeps return at once and are
//! recorded, so a test asserts the schedule that was chosen, never how
//! long it took).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Monotonic time and waiting.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Instant;
    /// Wait `d`, in small steps so a stop request (Ctrl-C) is seen; false
    /// when `stopped()` became true meanwhile.
    fn sleep(&self, d: Duration, stopped: &dyn Fn() -> bool) -> bool;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep(&self, d: Duration, stopped: &dyn Fn() -> bool) -> bool {
        let end = Instant::now() + d;
        loop {
            if stopped() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            std::thread::sleep((end - now).min(Duration::from_millis(100)));
        }
    }
}

/// A clock that only moves when slept on.
#[derive(Debug, Clone)]
pub struct FakeClock {
    start: Instant,
    state: Arc<Mutex<(Duration, Vec<Duration>)>>,
}

impl Default for FakeClock {
    fn default() -> Self {
        FakeClock::new()
    }
}

impl FakeClock {
    pub fn new() -> FakeClock {
        FakeClock {
            start: Instant::now(),
            state: Arc::new(Mutex::new((Duration::ZERO, Vec::new()))),
        }
    }
    /// Every sleep asked for, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().1.clone()
    }
    /// How far the clock moved.
    pub fn elapsed(&self) -> Duration {
        self.lock().0
    }
    /// Move the clock without a sleep (time spent elsewhere).
    pub fn advance(&self, d: Duration) {
        self.lock().0 += d;
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, (Duration, Vec<Duration>)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        self.start + self.lock().0
    }
    fn sleep(&self, d: Duration, stopped: &dyn Fn() -> bool) -> bool {
        if stopped() {
            return false;
        }
        let mut s = self.lock();
        s.0 += d;
        s.1.push(d);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fake_clock_moves_by_its_sleeps_only() {
        let c = FakeClock::new();
        let t0 = c.now();
        assert!(c.sleep(Duration::from_secs(5), &|| false));
        assert!(c.sleep(Duration::from_secs(7), &|| false));
        assert_eq!(c.now() - t0, Duration::from_secs(12));
        assert_eq!(c.sleeps(), [Duration::from_secs(5), Duration::from_secs(7)]);
        assert!(!c.sleep(Duration::from_secs(1), &|| true));
        assert_eq!(c.elapsed(), Duration::from_secs(12));
    }
}
