//! The one way lucid-gen writes to standard output. A reader that stops
//! reading (`lucid-gen schema | head -1`) closes the pipe; from then on
//! output is dropped quietly and the command finishes its work, so a
//! closed pipe never panics, never prints an error and never leaves an
//! `up` or an `all` half done. The exit code is the work's own (0 when it
//! succeeded). Any other write error is kept for `main` to report once.

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;

/// The first write error other than a closed pipe; `Some` once stdout is
/// given up on.
static GONE: Mutex<Option<Gone>> = Mutex::new(None);

/// Why standard output is no longer written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Gone {
    /// The reader closed the pipe: quiet.
    Closed,
    /// Any other failure (a full disk, a bad descriptor): reported.
    Failed(String),
}

/// Writes `args` (what `out!`/`outln!` format) to standard output.
pub fn write_fmt(args: fmt::Arguments) {
    write_with(|out| out.write_fmt(args));
}

/// Writes `bytes` (a rendered man page, a completion script) as they are.
pub fn write_bytes(bytes: &[u8]) {
    write_with(|out| out.write_all(bytes));
}

fn write_with(write: impl FnOnce(&mut io::StdoutLock<'static>) -> io::Result<()>) {
    let mut gone = GONE.lock().unwrap_or_else(|e| e.into_inner());
    if gone.is_some() {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = write(&mut out).and_then(|()| out.flush()) {
        *gone = Some(match e.kind() {
            io::ErrorKind::BrokenPipe => Gone::Closed,
            _ => Gone::Failed(e.to_string()),
        });
    }
}

/// The write error to report, if standard output failed for a reason
/// other than a closed pipe.
pub fn failure() -> Option<String> {
    match &*GONE.lock().unwrap_or_else(|e| e.into_inner()) {
        Some(Gone::Failed(e)) => Some(e.clone()),
        _ => None,
    }
}

/// `print!` that survives a closed pipe (see the module doc).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::stdout::write_fmt(format_args!($($arg)*)) };
}

/// `println!` that survives a closed pipe (see the module doc).
#[macro_export]
macro_rules! outln {
    () => { $crate::stdout::write_bytes(b"\n") };
    ($($arg:tt)*) => {
        $crate::stdout::write_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}
