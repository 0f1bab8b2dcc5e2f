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
