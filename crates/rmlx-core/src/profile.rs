//! A per-primitive time profile of evaluation: where a training step's time goes.
//!
//! Off by default (one relaxed atomic load per evaluated node). [`enable`] it (or set
//! `RMLX_PROFILE=1` and call [`enable_from_env`]), run the workload, then print [`report`]:
//! one line per primitive with its call count, total and mean time, and output elements.
//!
//! ```
//! use rmlx_core::{self as mx, profile};
//! profile::reset();
//! profile::enable(true);
//! let x = mx::ones(&[64, 64], mx::Dtype::F32)?;
//! mx::matmul(&x, &x)?.exp()?.eval()?;
//! profile::enable(false);
//! let rows = profile::snapshot();
//! assert!(rows.iter().any(|r| r.name == "Matmul" && r.calls >= 1));
//! println!("{}", profile::report());
//! # Ok::<(), mx::Error>(())
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ENABLED: AtomicBool = AtomicBool::new(false);
static TABLE: Mutex<Option<HashMap<&'static str, Row>>> = Mutex::new(None);

/// One primitive's totals.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The primitive's name (`"Matmul"`, `"Add"`…).
    pub name: &'static str,
    /// Evaluations.
    pub calls: u64,
    /// Total kernel time.
    pub total: Duration,
    /// Total output elements.
    pub elements: u64,
}

/// Turns profiling on or off (process-wide).
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Turns profiling on when the environment variable `RMLX_PROFILE` is `1`; returns whether it
/// is on.
pub fn enable_from_env() -> bool {
    let on = std::env::var("RMLX_PROFILE").is_ok_and(|v| v == "1");
    enable(on);
    on
}

/// Whether profiling is on.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Clears the totals.
pub fn reset() {
    if let Ok(mut t) = TABLE.lock() {
        *t = None;
    }
}

/// The clock for one node's evaluation, when profiling is on.
pub(crate) fn start() -> Option<Instant> {
    enabled().then(Instant::now)
}

/// Adds one evaluation of `name` that started at `t` and produced `elements` outputs.
pub(crate) fn record(name: &'static str, t: Option<Instant>, elements: usize) {
    let Some(t) = t else { return };
    let dt = t.elapsed();
    if let Ok(mut table) = TABLE.lock() {
        let row = table
            .get_or_insert_with(HashMap::new)
            .entry(name)
            .or_insert(Row {
                name,
                calls: 0,
                total: Duration::ZERO,
                elements: 0,
            });
        row.calls += 1;
        row.total += dt;
        row.elements += elements as u64;
    }
}

/// The totals so far, most expensive first.
pub fn snapshot() -> Vec<Row> {
    let mut rows: Vec<Row> = TABLE
        .lock()
        .ok()
        .and_then(|t| t.as_ref().map(|m| m.values().cloned().collect()))
        .unwrap_or_default();
    rows.sort_by_key(|r| std::cmp::Reverse(r.total));
    rows
}

/// A table of [`snapshot`]: primitive, calls, total ms, share, mean µs, output elements.
pub fn report() -> String {
    let rows = snapshot();
    let all: f64 = rows.iter().map(|r| r.total.as_secs_f64()).sum();
    let mut s = format!(
        "{:<24} {:>8} {:>10} {:>6} {:>10} {:>14}\n",
        "primitive", "calls", "total ms", "share", "mean us", "out elements"
    );
    for r in &rows {
        let t = r.total.as_secs_f64();
        s += &format!(
            "{:<24} {:>8} {:>10.2} {:>5.1}% {:>10.1} {:>14}\n",
            r.name,
            r.calls,
            t * 1e3,
            if all > 0.0 { 100.0 * t / all } else { 0.0 },
            t * 1e6 / r.calls.max(1) as f64,
            r.elements
        );
    }
    s += &format!("{:<24} {:>8} {:>10.2}\n", "total", "", all * 1e3);
    s
}
