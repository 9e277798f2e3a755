//! Tests that read the process-wide memory counters, in a binary of their own: the other
//! integration tests would allocate concurrently and move the counters under them.

/// Held by each test here, so they also do not run concurrently with each other.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

mod transforms_memory;
