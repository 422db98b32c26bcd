//! Large-stack worker threads for mappings that go through jaq.
//!
//! jaq evaluates recursively: a mapping that builds a deeply nested value needs far more stack
//! than a tokio worker has. Items whose mapping has a jaq expression are therefore mapped on a
//! small pool of threads with a 256 MiB stack (address space reserved, not memory used), started
//! once per process — never a thread per item. A call that panics becomes an error of that item;
//! a call over its time limit is abandoned (jaq cannot be interrupted, so its thread is left to
//! finish on its own and a fresh worker takes its place, up to a bound).

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

/// Stack of each worker: deep values built by a mapping (e.g. a `reduce` nesting arrays 100,000
/// levels deep) must not overflow it.
pub const STACK: usize = 256 << 20;

/// At most this many workers are replaced after time-outs; past it the pool keeps working with
/// the workers it has left.
const MAX_ABANDONED: usize = 16;

thread_local! {
    static LARGE_STACK: Cell<bool> = const { Cell::new(false) };
}

/// True on a thread with a [`STACK`]-sized stack (a pool worker, or one started with
/// [`spawn_large`]): jaq may run here directly.
pub fn on_large_stack() -> bool {
    LARGE_STACK.with(Cell::get)
}

/// Runs `f` on a new thread with a [`STACK`]-sized stack and waits for it (for command-line
/// loops that map many items: one thread for the whole loop).
pub fn spawn_large<T: Send>(f: impl FnOnce() -> T + Send) -> std::thread::Result<T> {
    std::thread::scope(|s| {
        let worker = std::thread::Builder::new().name("jq-large-stack".into()).stack_size(STACK);
        match worker.spawn_scoped(s, || {
            LARGE_STACK.with(|c| c.set(true));
            f()
        }) {
            Ok(h) => h.join(),
            Err(e) => Err(Box::new(e) as Box<dyn std::any::Any + Send>),
        }
    })
}

/// Why a pooled call produced no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The call panicked.
    #[error("internal error while evaluating the mapping")]
    Panicked,
    /// The call ran longer than its limit and was abandoned.
    #[error("the mapping took longer than {0:?} and was abandoned")]
    TimedOut(Duration),
    /// No worker could be started.
    #[error("no mapping worker thread could be started")]
    Unavailable,
}

type Job = Box<dyn FnOnce() + Send>;

/// The pool of large-stack workers.
#[derive(Debug)]
pub struct Pool {
    jobs: mpsc::Sender<Job>,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    workers: AtomicUsize,
    abandoned: AtomicUsize,
}

impl Pool {
    /// The process-wide pool (started on first use; one worker per core, at most four).
    pub fn global() -> &'static Pool {
        static POOL: OnceLock<Pool> = OnceLock::new();
        POOL.get_or_init(|| {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
            Pool::new(n)
        })
    }

    /// A pool of `workers` threads.
    pub fn new(workers: usize) -> Self {
        let (jobs, rx) = mpsc::channel::<Job>();
        let pool = Self {
            jobs,
            queue: Arc::new(Mutex::new(rx)),
            workers: AtomicUsize::new(0),
            abandoned: AtomicUsize::new(0),
        };
        for _ in 0..workers.max(1) {
            pool.spawn_worker();
        }
        pool
    }

    fn spawn_worker(&self) -> bool {
        let queue = self.queue.clone();
        let started = std::thread::Builder::new()
            .name("jq-mapping".into())
            .stack_size(STACK)
            .spawn(move || {
                LARGE_STACK.with(|c| c.set(true));
                loop {
                    // The lock is held only while waiting for the next job.
                    let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        if started.is_ok() {
            self.workers.fetch_add(1, Ordering::Relaxed);
        }
        started.is_ok()
    }

    /// Live worker threads (including any still busy with an abandoned call).
    pub fn workers(&self) -> usize {
        self.workers.load(Ordering::Relaxed)
    }

    /// Runs `f` on a worker and awaits its result, for at most `limit`.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
        limit: Duration,
    ) -> Result<T, PoolError> {
        if self.workers() == 0 {
            return Err(PoolError::Unavailable);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(out.map_err(|_| PoolError::Panicked));
        });
        if self.jobs.send(job).is_err() {
            return Err(PoolError::Unavailable);
        }
        match tokio::time::timeout(limit, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(PoolError::Panicked),
            Err(_) => {
                // Its worker stays busy until the evaluation ends; replace it (bounded).
                if self.abandoned.fetch_add(1, Ordering::Relaxed) < MAX_ABANDONED {
                    self.spawn_worker();
                }
                Err(PoolError::TimedOut(limit))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
    }

    #[test]
    fn runs_on_large_stacks_and_turns_panics_into_errors() {
        let pool = Pool::new(1);
        block(async {
            assert!(!on_large_stack());
            assert_eq!(pool.run(on_large_stack, Duration::from_secs(5)).await, Ok(true));
            let boom = pool.run(|| -> u8 { panic!("boom") }, Duration::from_secs(5)).await;
            assert_eq!(boom, Err(PoolError::Panicked));
            // The worker survives a panic.
            assert_eq!(pool.run(|| 7, Duration::from_secs(5)).await, Ok(7));
        });
    }

    #[test]
    fn a_call_over_its_limit_is_abandoned_and_replaced() {
        let pool = Pool::new(1);
        let (release, wait) = mpsc::channel::<()>();
        block(async {
            let stuck = pool
                .run(
                    move || wait.recv_timeout(Duration::from_secs(30)).is_ok(),
                    Duration::from_millis(50),
                )
                .await;
            assert_eq!(stuck, Err(PoolError::TimedOut(Duration::from_millis(50))));
            assert_eq!(pool.workers(), 2, "a fresh worker replaces the busy one");
            assert_eq!(pool.run(|| 1, Duration::from_secs(5)).await, Ok(1));
        });
        let _ = release.send(());
    }
}
