//! Requests in flight, and background work that gives way to them.
//!
//! A checkout waits for its quote; nobody waits for an expiry a few milliseconds later.
//! On a small machine the two share the same cores, so a burst of due timers (10,000
//! payment deadlines falling at one instant) would otherwise take the CPU, and sled's
//! write lock, from the quotes that arrive meanwhile. Quotes and commits count themselves
//! here while they run ([`Foreground::enter`]). Background work (the timers' expiries, a
//! settlement run's chunks) runs each transaction through [`Foreground::background`],
//! which does two things:
//! - [`Foreground::give_way`] before each one: returns as soon as no request is running,
//!   or after [`GIVE_WAY_MAX`] in any case;
//! - [`Foreground::pace`] after each one: while requests have arrived in the last
//!   [`RECENT`], rests as long as the transaction worked, so that background work takes at
//!   most about half of one core from a serving host, and a request arriving finds a core
//!   free. On an idle host it runs at full speed.
//!
//! So background work always progresses and its delay is bounded: per transaction at most
//! `GIVE_WAY_MAX` plus its own duration (capped at [`PACE_MAX`]), however busy the host.
//! Measured in BENCHMARKS.md ("Timers"): without the pacing, quotes sent at 5,000/s during
//! a burst of 10,000 expiries waited behind it (p99 10 ms, then the evaluation pool's
//! queue was full); with it, the burst takes longer and the quotes keep their pace.
//!
//! This is cooperative, not a scheduling priority: the background thread waits only
//! between its transactions, holding no lock (a thread descheduled while it holds sled's
//! internal locks can stall every writer).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// The longest background work waits for the requests in flight before one transaction.
pub const GIVE_WAY_MAX: Duration = Duration::from_millis(1);

/// How long after the last request arrived the host still counts as serving.
pub const RECENT: Duration = Duration::from_millis(100);

/// The longest rest after one transaction.
pub const PACE_MAX: Duration = Duration::from_millis(5);

/// How many requests are running, when the last one arrived, and a way to wait until none
/// are.
#[derive(Debug)]
pub struct Foreground {
    running: AtomicUsize,
    /// Background threads waiting in [`Foreground::give_way`].
    waiting: AtomicUsize,
    quiet: Condvar,
    lock: Mutex<()>,
    /// What the arrival times count from.
    started: Instant,
    /// When the last request arrived: nanoseconds after `started`.
    last_arrival: AtomicU64,
}

impl Default for Foreground {
    fn default() -> Self {
        Self {
            running: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            quiet: Condvar::new(),
            lock: Mutex::new(()),
            started: Instant::now(),
            last_arrival: AtomicU64::new(0),
        }
    }
}

/// A request in flight; dropped when it ends.
#[derive(Debug)]
#[must_use = "a request counts only while its guard lives"]
pub struct Running<'a>(&'a Foreground);

impl Foreground {
    /// Count a request until the returned guard drops.
    pub fn enter(&self) -> Running<'_> {
        self.running.fetch_add(1, Ordering::SeqCst);
        // Never 0, which means "no request yet".
        let at = self.nanos(Instant::now()).max(1);
        self.last_arrival.fetch_max(at, Ordering::Relaxed);
        Running(self)
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.started).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Whether a request arrived within [`RECENT`] before `now`.
    pub fn serving_at(&self, now: Instant) -> bool {
        let last = self.last_arrival.load(Ordering::Relaxed);
        let recent = u64::try_from(RECENT.as_nanos()).unwrap_or(u64::MAX);
        last != 0 && self.nanos(now).saturating_sub(last) <= recent
    }

    /// How long background work that just `worked` rests at `now`: as long as it worked
    /// (at most [`PACE_MAX`]) while the host is serving, else not at all.
    pub fn rest_after(&self, worked: Duration, now: Instant) -> Duration {
        if self.serving_at(now) {
            worked.min(PACE_MAX)
        } else {
            Duration::ZERO
        }
    }

    /// Rest after background work that `worked` (see [`Foreground::rest_after`]). Returns
    /// how long it rested.
    pub fn pace(&self, worked: Duration) -> Duration {
        let rest = self.rest_after(worked, Instant::now());
        if !rest.is_zero() {
            std::thread::sleep(rest);
        }
        rest
    }

    /// Requests running now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// Run one piece of background work (one transaction): give way to the requests
    /// running before it ([`Foreground::give_way`], at most [`GIVE_WAY_MAX`]) and rest
    /// after it while requests are arriving ([`Foreground::pace`]).
    pub fn background<T>(&self, work: impl FnOnce() -> T) -> T {
        self.give_way(GIVE_WAY_MAX);
        let started = Instant::now();
        let done = work();
        self.pace(started.elapsed());
        done
    }

    /// Wait until no request is running, for at most `max`. Returns how long it waited.
    pub fn give_way(&self, max: Duration) -> Duration {
        if self.running() == 0 {
            return Duration::ZERO;
        }
        let started = Instant::now();
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.waiting.fetch_add(1, Ordering::SeqCst);
        // Checked again under the lock: a request ending after the first check and before
        // `waiting` was raised would not have notified.
        let (guard, _) = self
            .quiet
            .wait_timeout_while(guard, max, |_| self.running() > 0)
            .unwrap_or_else(|e| e.into_inner());
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        drop(guard);
        started.elapsed()
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let fg = self.0;
        if fg.running.fetch_sub(1, Ordering::SeqCst) == 1 && fg.waiting.load(Ordering::SeqCst) > 0 {
            // Taken so that the notification cannot fall between a waiter's check and its
            // sleep.
            let _held = fg.lock.lock().unwrap_or_else(|e| e.into_inner());
            fg.quiet.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn background_work_rests_as_long_as_it_worked_while_requests_arrive() {
        let fg = Foreground::default();
        let now = Instant::now();
        let worked = Duration::from_micros(90);
        assert!(!fg.serving_at(now), "no request yet");
        assert_eq!(fg.rest_after(worked, now), Duration::ZERO);
        let arrived = Instant::now();
        drop(fg.enter());
        assert!(fg.serving_at(arrived));
        assert_eq!(fg.rest_after(worked, arrived), worked);
        assert_eq!(
            fg.rest_after(Duration::from_secs(1), arrived),
            PACE_MAX,
            "a long transaction rests no longer than the cap"
        );
        assert!(fg.serving_at(arrived + RECENT));
        let later = arrived + RECENT + Duration::from_millis(1);
        assert!(!fg.serving_at(later), "the host went quiet");
        assert_eq!(fg.rest_after(worked, later), Duration::ZERO);
    }

    #[test]
    fn with_nothing_running_it_does_not_wait() {
        let fg = Foreground::default();
        assert_eq!(fg.give_way(Duration::from_secs(60)), Duration::ZERO);
    }

    #[test]
    fn a_request_running_past_the_limit_holds_background_work_back_no_longer() {
        let fg = Foreground::default();
        let running = fg.enter();
        let waited = fg.give_way(Duration::from_millis(20));
        assert!(waited >= Duration::from_millis(20), "{waited:?}");
        assert!(waited < Duration::from_secs(10), "{waited:?}");
        assert_eq!(fg.running(), 1);
        drop(running);
        assert_eq!(fg.running(), 0);
    }

    #[test]
    fn the_wait_ends_when_the_last_request_does() {
        let fg = Arc::new(Foreground::default());
        let (entered, ended) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
        let request = {
            let fg = fg.clone();
            std::thread::spawn(move || {
                let a = fg.enter();
                let b = fg.enter();
                entered.0.send(()).unwrap();
                ended.1.recv().unwrap();
                drop(a);
                drop(b);
            })
        };
        entered.1.recv().unwrap();
        let background = {
            let fg = fg.clone();
            std::thread::spawn(move || fg.give_way(Duration::from_secs(60)))
        };
        // The background thread is asleep in its wait before the requests end.
        while fg.waiting.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        ended.0.send(()).unwrap();
        request.join().unwrap();
        // Woken by the last request's end, long before its limit.
        let waited = background.join().unwrap();
        assert!(waited < Duration::from_secs(30), "{waited:?}");
        assert_eq!(fg.running(), 0);
    }
}
