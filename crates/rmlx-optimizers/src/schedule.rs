//! Learning-rate schedules (`mlx.optimizers.schedulers`) and [`LearningRate`], which every
//! optimizer takes: a constant or a schedule of the step.
//!
//! A schedule is evaluated at the optimizer's step *before* it is incremented, so the first update
//! uses `schedule(0)` (MLX_SEMANTICS item 81). Values are computed in `float32` in the order MLX
//! computes them.
//!
//! ```
//! use rmlx_optimizers::{cosine_decay, join_schedules, linear_schedule};
//! let warmup = linear_schedule(0.0, 1.0, 2)?;
//! let decay = cosine_decay(1.0, 4, 0.0)?;
//! let lr = join_schedules(vec![warmup, decay], vec![2])?;
//! assert_eq!(lr.at(1), 0.5);
//! assert_eq!(lr.at(2), 1.0);
//! assert!((lr.at(4) - 0.5).abs() < 1e-6);
//! # Ok::<(), rmlx_core::Error>(())
//! ```

use std::fmt;
use std::sync::Arc;

use rmlx_core::{bail, Result};

/// A user-defined schedule: the value at a step.
pub type ScheduleFn = Arc<dyn Fn(u64) -> f32 + Send + Sync>;

/// A learning-rate schedule: a function of the optimizer step.
#[derive(Clone)]
pub enum Schedule {
    /// `init * decay_rate^step` ([`exponential_decay`]).
    ExponentialDecay {
        /// Initial value.
        init: f64,
        /// Multiplicative factor per step.
        decay_rate: f64,
    },
    /// `init * decay_rate^(step / step_size)` ([`step_decay`]).
    StepDecay {
        /// Initial value.
        init: f64,
        /// Multiplicative factor per `step_size` steps.
        decay_rate: f64,
        /// Steps between decays (≥ 1).
        step_size: u64,
    },
    /// Cosine from `init` to `end` over `decay_steps`, then `end` ([`cosine_decay`]).
    CosineDecay {
        /// Initial value.
        init: f64,
        /// Steps to decay over (≥ 1).
        decay_steps: u64,
        /// Final value.
        end: f64,
    },
    /// Linear from `init` to `end` over `steps`, then `end` ([`linear_schedule`]).
    Linear {
        /// Initial value.
        init: f64,
        /// Final value.
        end: f64,
        /// Steps (≥ 1).
        steps: u64,
    },
    /// Schedules joined at boundaries ([`join_schedules`]).
    Join {
        /// The schedules, `boundaries.len() + 1` of them.
        schedules: Vec<Schedule>,
        /// Steps at which the next schedule takes over (it sees `step - boundary`).
        boundaries: Vec<u64>,
    },
    /// Any function of the step.
    Custom(ScheduleFn),
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::ExponentialDecay { init, decay_rate } => {
                write!(f, "exponential_decay({init}, {decay_rate})")
            }
            Schedule::StepDecay {
                init,
                decay_rate,
                step_size,
            } => write!(f, "step_decay({init}, {decay_rate}, {step_size})"),
            Schedule::CosineDecay {
                init,
                decay_steps,
                end,
            } => write!(f, "cosine_decay({init}, {decay_steps}, {end})"),
            Schedule::Linear { init, end, steps } => {
                write!(f, "linear_schedule({init}, {end}, {steps})")
            }
            Schedule::Join {
                schedules,
                boundaries,
            } => write!(f, "join_schedules({schedules:?}, {boundaries:?})"),
            Schedule::Custom(_) => write!(f, "Schedule::Custom"),
        }
    }
}

impl Schedule {
    /// The value at `step` (a `float32`, as MLX's schedules return).
    pub fn at(&self, step: u64) -> f32 {
        match self {
            Schedule::ExponentialDecay { init, decay_rate } => {
                // decay_rate ** step: a float32 power of the uint64 step.
                let p = (*decay_rate as f32).powf(step as f32);
                (*init as f32) * p
            }
            Schedule::StepDecay {
                init,
                decay_rate,
                step_size,
            } => {
                let k = step / step_size;
                (*init as f32) * (*decay_rate as f32).powf(k as f32)
            }
            Schedule::CosineDecay {
                init,
                decay_steps,
                end,
            } => {
                let s = step.min(*decay_steps) as f32;
                let arg = (std::f64::consts::PI / *decay_steps as f64) as f32 * s;
                let decay = 0.5f32 * (1.0f32 + arg.cos());
                (*end as f32) + decay * ((init - end) as f32)
            }
            Schedule::Linear { init, end, steps } => {
                let s = step.min(*steps) as f32;
                s * (((end - init) / *steps as f64) as f32) + (*init as f32)
            }
            Schedule::Join {
                schedules,
                boundaries,
            } => {
                let Some((first, rest)) = schedules.split_first() else {
                    return 0.0;
                };
                let mut out = first.at(step);
                for (b, s) in boundaries.iter().zip(rest) {
                    if step >= *b {
                        out = s.at(step - b);
                    }
                }
                out
            }
            Schedule::Custom(f) => f(step),
        }
    }

    /// A schedule from any function of the step.
    pub fn custom(f: impl Fn(u64) -> f32 + Send + Sync + 'static) -> Schedule {
        Schedule::Custom(Arc::new(f))
    }

    /// Builds a schedule by MLX's function name and arguments, e.g. `("cosine_decay",
    /// [("init", 0.1), ("decay_steps", 10.0), ("end", 0.0)])`. Missing arguments take MLX's
    /// defaults where it has one. Used to rebuild schedules named in data (the oracle's cases).
    pub fn from_name(name: &str, args: &[(&str, f64)]) -> Result<Schedule> {
        let get = |k: &str| args.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let need = |k: &str| {
            get(k).ok_or_else(|| rmlx_core::err!(Value, "{name}: missing argument '{k}'"))
        };
        let int = |k: &str| -> Result<i64> {
            let v = need(k)?;
            if v.fract() != 0.0 {
                bail!(Value, "{name}: argument '{k}' must be an integer, got {v}");
            }
            Ok(v as i64)
        };
        match name {
            "exponential_decay" => Ok(exponential_decay(need("init")?, need("decay_rate")?)),
            "step_decay" => step_decay(need("init")?, need("decay_rate")?, int("step_size")?),
            "cosine_decay" => cosine_decay(
                need("init")?,
                int("decay_steps")?,
                get("end").unwrap_or(0.0),
            ),
            "linear_schedule" => linear_schedule(need("init")?, need("end")?, int("steps")?),
            other => bail!(Value, "unknown schedule '{other}'"),
        }
    }
}

/// `init * decay_rate^step`.
///
/// ```
/// let s = rmlx_optimizers::exponential_decay(0.1, 0.9);
/// assert!((s.at(5) - 0.059049).abs() < 1e-7);
/// ```
pub fn exponential_decay(init: f64, decay_rate: f64) -> Schedule {
    Schedule::ExponentialDecay { init, decay_rate }
}

/// `init * decay_rate^(step // step_size)`; `step_size < 1` is an error.
pub fn step_decay(init: f64, decay_rate: f64, step_size: i64) -> Result<Schedule> {
    if step_size < 1 {
        bail!(
            Value,
            "step_size must be greater than 0, but got {step_size}."
        );
    }
    Ok(Schedule::StepDecay {
        init,
        decay_rate,
        step_size: step_size as u64,
    })
}

/// Cosine decay from `init` to `end` over `decay_steps` steps, then constant at `end`:
/// `end + 0.5 (1 + cos(π min(step, decay_steps) / decay_steps)) (init - end)`.
/// `decay_steps < 1` is an error.
pub fn cosine_decay(init: f64, decay_steps: i64, end: f64) -> Result<Schedule> {
    if decay_steps < 1 {
        bail!(
            Value,
            "decay_steps must be greater than 0, but got {decay_steps}."
        );
    }
    Ok(Schedule::CosineDecay {
        init,
        decay_steps: decay_steps as u64,
        end,
    })
}

/// Linear from `init` to `end` over `steps` steps, then constant at `end`:
/// `min(step, steps) * ((end - init) / steps) + init`. `steps < 1` is an error.
pub fn linear_schedule(init: f64, end: f64, steps: i64) -> Result<Schedule> {
    if steps < 1 {
        bail!(Value, "steps must be greater than 0, but got {steps}.");
    }
    Ok(Schedule::Linear {
        init,
        end,
        steps: steps as u64,
    })
}

/// Joins schedules: schedule `i + 1` takes over at `boundaries[i]` and sees the steps since that
/// boundary. Needs `boundaries.len() == schedules.len() - 1`.
pub fn join_schedules(schedules: Vec<Schedule>, boundaries: Vec<u64>) -> Result<Schedule> {
    if schedules.is_empty() {
        bail!(Value, "Must provide at least 1 schedule to join.");
    }
    if schedules.len() != boundaries.len() + 1 {
        bail!(
            Value,
            "Received {} boundaries but expected {}.",
            boundaries.len(),
            schedules.len() - 1
        );
    }
    Ok(Schedule::Join {
        schedules,
        boundaries,
    })
}

/// A learning rate: a constant or a [`Schedule`]. Every optimizer constructor takes
/// `impl Into<LearningRate>`, so `0.1`, `0.1f32` and `cosine_decay(..)?` all work.
#[derive(Clone, Debug)]
pub enum LearningRate {
    /// A fixed value (stored as `float32`, as MLX's `mx.array(lr)`).
    Constant(f32),
    /// A schedule of the step.
    Schedule(Schedule),
}

impl LearningRate {
    /// The value used by the update that starts at `step` (0 for the first update).
    pub fn at(&self, step: u64) -> f32 {
        match self {
            LearningRate::Constant(v) => *v,
            LearningRate::Schedule(s) => s.at(step),
        }
    }

    /// True for a schedule.
    pub fn is_schedule(&self) -> bool {
        matches!(self, LearningRate::Schedule(_))
    }
}

impl From<f32> for LearningRate {
    fn from(v: f32) -> Self {
        LearningRate::Constant(v)
    }
}

impl From<f64> for LearningRate {
    fn from(v: f64) -> Self {
        LearningRate::Constant(v as f32)
    }
}

impl From<Schedule> for LearningRate {
    fn from(s: Schedule) -> Self {
        LearningRate::Schedule(s)
    }
}
