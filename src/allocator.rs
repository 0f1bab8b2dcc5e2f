//! How the binary's memory allocator is set up: on Linux with glibc, two
//! arenas at most and a fixed threshold above which a block gets its own
//! mapping. Called once by `main` before any thread starts.
//!
//! Why (issue 25, measured at 10,000 services): glibc gives every thread
//! that allocates its own arena (up to eight per core), and the pipeline
//! parses, renders and stages on several threads, so memory freed in one
//! arena stays mapped beside live data in another; and its mmap threshold
//! grows with the largest block freed (up to 32 MiB), after which the
//! rendered compose files, megabytes each, are carved from the arenas and
//! never handed back. Peak RSS of a first `all` was 40–70 MiB above the
//! live heap. Capping the arenas at the number of cores we use (two) and
//! keeping large blocks in their own mappings (returned on free) removes
//! most of that; the measured cost in CPU time is within noise
//! (BENCHMARKS.md, "Issue 25"). An operator's own glibc variables
//! (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`)
//! win: a setting one of them makes is left alone. Elsewhere this does
//! nothing.

use std::sync::mpsc;

/// Applies the settings above (a no-op off Linux/glibc, or when the
/// operator set glibc's own variables).
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::tune();
}

/// Hands the pages of freed memory back to the system, once a stage has
/// dropped a large, short-lived structure (the raw model after
/// validation). glibc keeps freed blocks in the middle of its heap
/// mapped, so without this the next stage's allocations stack on top of
/// the last one's leftovers in the peak RSS. A no-op off Linux/glibc.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::trim();
}

/// Drops values on a thread of its own, for a stage that frees one large
/// structure while it builds another (validation: each raw service is
/// dropped once built). Call [`Disposal::release`] between batches.
///
/// Why (issue 25, measured at 10,000 services): glibc keeps a small cache
/// of freed blocks per thread and hands them to that thread's next
/// allocation of the same size. Freed where the built model is allocated,
/// the raw model's blocks become the built model's, so the built model
/// ends up scattered over the pages the parser filled, and those pages
/// can never be given back: peak RSS at the end of validation was about
/// 9 MB above what the same data needs. Freed on another thread, they go
/// back to the parser's pages, which empty out whole.
///
/// When the thread cannot be started, values are dropped in place.
pub struct Disposal<T: Send + 'static> {
    to_drop: Option<mpsc::Sender<Disposed<T>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the disposal thread is handed.
enum Disposed<T> {
    Value(T),
    /// Everything sent before is dropped: say so on this channel.
    Barrier(mpsc::SyncSender<()>),
}

impl<T: Send + 'static> Disposal<T> {
    pub fn new() -> Disposal<T> {
        let (to_drop, received) = mpsc::channel::<Disposed<T>>();
        let spawned = std::thread::Builder::new()
            .name("disposal".into())
            .spawn(move || {
                for item in received {
                    if let Disposed::Barrier(done) = item {
                        let _ = done.send(());
                    }
                }
            });
        match spawned {
            Ok(thread) => Disposal {
                to_drop: Some(to_drop),
                thread: Some(thread),
            },
            Err(_) => Disposal {
                to_drop: None,
                thread: None,
            },
        }
    }

    /// Drops `value`, on the disposal thread when there is one.
    pub fn discard(&self, value: T) {
        if let Some(to_drop) = &self.to_drop {
            // Fails only when the thread is gone: then it is dropped here.
            let _ = to_drop.send(Disposed::Value(value));
        }
    }

    /// Waits until every value discarded so far is dropped, then gives
    /// the free pages back ([`release_free_memory`]).
    pub fn release(&self) {
        if let Some(to_drop) = &self.to_drop {
            let (done, dropped) = mpsc::sync_channel(1);
            if to_drop.send(Disposed::Barrier(done)).is_ok() {
                let _ = dropped.recv();
            }
        }
        release_free_memory();
    }
}

impl<T: Send + 'static> Default for Disposal<T> {
    fn default() -> Self {
        Disposal::new()
    }
}

impl<T: Send + 'static> Drop for Disposal<T> {
    fn drop(&mut self) {
        drop(self.to_drop.take());
        if let Some(thread) = self.thread.take() {
            // The thread only drops values; a panic in a destructor there
            // is not ours to re-raise during a drop.
            let _ = thread.join();
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use std::ffi::c_int;

    // glibc's `mallopt` parameters (malloc.h).
    const M_TRIM_THRESHOLD: c_int = -1;
    const M_MMAP_THRESHOLD: c_int = -3;
    const M_ARENA_MAX: c_int = -8;

    /// Blocks of this size or more get their own mapping.
    const MMAP_THRESHOLD: c_int = 256 * 1024;
    /// Free memory at the top of the heap beyond this is given back.
    const TRIM_THRESHOLD: c_int = 1024 * 1024;
    /// Arenas at most: the pipeline keeps two cores busy.
    const ARENA_MAX: c_int = 2;

    extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
        fn malloc_trim(pad: usize) -> c_int;
    }

    pub(super) fn trim() {
        // SAFETY: `malloc_trim` only returns free memory to the system
        // (madvise on whole free pages, every arena); it takes the
        // allocator's own locks, so it is safe beside other threads.
        unsafe { malloc_trim(0) };
    }

    pub(super) fn tune() {
        let set = |var: &str, param: c_int, value: c_int| {
            if std::env::var_os(var).is_none() {
                // SAFETY: `mallopt` only changes the allocator's settings;
                // it is called before `main` starts any thread, and every
                // value is one glibc documents for its parameter.
                unsafe { mallopt(param, value) };
            }
        };
        set("MALLOC_ARENA_MAX", M_ARENA_MAX, ARENA_MAX);
        set("MALLOC_MMAP_THRESHOLD_", M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        set("MALLOC_TRIM_THRESHOLD_", M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::thread::{self, ThreadId};

    use super::Disposal;

    /// Records the thread it is dropped on.
    struct Noted(Arc<Mutex<Vec<ThreadId>>>);

    impl Drop for Noted {
        fn drop(&mut self) {
            self.0.lock().unwrap().push(thread::current().id());
        }
    }

    #[test]
    fn discarded_values_are_dropped_on_another_thread_by_the_time_release_returns() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let disposal = Disposal::new();
        for _ in 0..100 {
            disposal.discard(Noted(Arc::clone(&log)));
        }
        disposal.release();
        let dropped = log.lock().unwrap().clone();
        assert_eq!(dropped.len(), 100, "release returned before every drop");
        assert!(dropped.iter().all(|id| *id != thread::current().id()));
        // Values discarded after a release are dropped by the time the
        // disposal itself is.
        disposal.discard(Noted(Arc::clone(&log)));
        drop(disposal);
        assert_eq!(log.lock().unwrap().len(), 101);
    }
}
