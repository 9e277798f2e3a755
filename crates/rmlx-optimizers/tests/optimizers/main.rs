//! The integration tests of `rmlx-optimizers`, linked into one binary (one link instead of one per file).

mod formulas;
mod fused_adam;
mod module_update;
mod oracle_optimizer;
mod schedules;
mod state;
mod training;
