//! Building optimizers from MLX's class names and keyword arguments, so configurations written as
//! data (such as the oracle's `cases.json`) map onto rmlx without per-case code.

use rmlx_core::{bail, err, Result};

use crate::adafactor::{Adafactor, AdafactorOptions};
use crate::adam::{Adam, AdamOptions, AdamW, Adamax};
use crate::adaptive::{AdaDelta, Adagrad, RMSprop};
use crate::lion::Lion;
use crate::muon::{Muon, MuonOptions};
use crate::optimizer::Optimizer;
use crate::schedule::{LearningRate, Schedule};
use crate::sgd::{SGDOptions, SGD};

/// A hyper-parameter value as MLX's Python would receive it.
#[derive(Clone, Debug)]
pub enum HParam {
    /// A number (`0.01`, `5`).
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// A list or tuple of numbers (`betas`, Adafactor's `eps`).
    List(Vec<f64>),
    /// A learning-rate schedule.
    Schedule(Schedule),
    /// Python's `None`.
    None,
}

struct Args<'a> {
    class: &'a str,
    args: &'a [(&'a str, HParam)],
}

impl Args<'_> {
    fn get(&self, k: &str) -> Option<&HParam> {
        self.args
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v)
            .filter(|v| !matches!(v, HParam::None))
    }

    fn num(&self, k: &str, default: f64) -> Result<f64> {
        match self.get(k) {
            None => Ok(default),
            Some(HParam::Num(v)) => Ok(*v),
            Some(other) => bail!(
                Value,
                "{}: argument '{k}' must be a number, got {other:?}",
                self.class
            ),
        }
    }

    fn opt_num(&self, k: &str) -> Result<Option<f64>> {
        self.get(k).map(|_| self.num(k, 0.0)).transpose()
    }

    fn flag(&self, k: &str, default: bool) -> Result<bool> {
        match self.get(k) {
            None => Ok(default),
            Some(HParam::Bool(v)) => Ok(*v),
            Some(other) => bail!(
                Value,
                "{}: argument '{k}' must be a bool, got {other:?}",
                self.class
            ),
        }
    }

    fn pair(&self, k: &str, default: [f64; 2]) -> Result<[f64; 2]> {
        match self.get(k) {
            None => Ok(default),
            Some(HParam::List(v)) if matches!(v.as_slice(), [_, _]) => match v.as_slice() {
                [a, b] => Ok([*a, *b]),
                _ => Ok(default),
            },
            Some(other) => bail!(
                Value,
                "{}: argument '{k}' must be a pair of numbers, got {other:?}",
                self.class
            ),
        }
    }

    fn lr(&self) -> Result<Option<LearningRate>> {
        match self.get("learning_rate") {
            None => Ok(None),
            Some(HParam::Num(v)) => Ok(Some(LearningRate::Constant(*v as f32))),
            Some(HParam::Schedule(s)) => Ok(Some(LearningRate::Schedule(s.clone()))),
            Some(other) => bail!(
                Value,
                "{}: learning_rate must be a number or a schedule, got {other:?}",
                self.class
            ),
        }
    }

    fn need_lr(&self) -> Result<LearningRate> {
        self.lr()?
            .ok_or_else(|| err!(Value, "{}: missing argument 'learning_rate'", self.class))
    }
}

/// Builds an optimizer from MLX's class name and keyword arguments; missing arguments take
/// MLX's defaults. Classes: `SGD`, `RMSprop`, `Adagrad`, `AdaDelta`, `Adam`, `AdamW`, `Adamax`,
/// `Lion`, `Adafactor`, `Muon`.
///
/// ```
/// use rmlx_optimizers::{optimizer_from_name, HParam};
/// let opt = optimizer_from_name("Adam", &[
///     ("learning_rate", HParam::Num(0.01)),
///     ("betas", HParam::List(vec![0.9, 0.999])),
///     ("bias_correction", HParam::Bool(true)),
/// ])?;
/// assert_eq!(opt.name(), "Adam");
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn optimizer_from_name(class: &str, args: &[(&str, HParam)]) -> Result<Box<dyn Optimizer>> {
    let a = Args { class, args };
    let adam_opts = |a: &Args| -> Result<AdamOptions> {
        Ok(AdamOptions {
            betas: a.pair("betas", [0.9, 0.999])?,
            eps: a.num("eps", 1e-8)?,
            bias_correction: a.flag("bias_correction", false)?,
        })
    };
    Ok(match class {
        "SGD" => Box::new(SGD::with_options(
            a.need_lr()?,
            SGDOptions {
                momentum: a.num("momentum", 0.0)?,
                weight_decay: a.num("weight_decay", 0.0)?,
                dampening: a.num("dampening", 0.0)?,
                nesterov: a.flag("nesterov", false)?,
            },
        )?),
        "RMSprop" => Box::new(RMSprop::with_options(
            a.need_lr()?,
            a.num("alpha", 0.99)?,
            a.num("eps", 1e-8)?,
        )?),
        "Adagrad" => Box::new(Adagrad::with_options(a.need_lr()?, a.num("eps", 1e-8)?)?),
        "AdaDelta" => Box::new(AdaDelta::with_options(
            a.need_lr()?,
            a.num("rho", 0.9)?,
            a.num("eps", 1e-6)?,
        )?),
        "Adam" => Box::new(Adam::with_options(a.need_lr()?, adam_opts(&a)?)?),
        "AdamW" => Box::new(AdamW::with_options(
            a.need_lr()?,
            adam_opts(&a)?,
            a.num("weight_decay", 0.01)?,
        )?),
        "Adamax" => Box::new(Adamax::with_options(
            a.need_lr()?,
            a.pair("betas", [0.9, 0.999])?,
            a.num("eps", 1e-8)?,
        )?),
        "Lion" => Box::new(Lion::with_options(
            a.need_lr()?,
            a.pair("betas", [0.9, 0.99])?,
            a.num("weight_decay", 0.0)?,
        )?),
        "Adafactor" => {
            let eps = a.pair("eps", [1e-30, 1e-3])?;
            Box::new(Adafactor::with_options(AdafactorOptions {
                learning_rate: a.lr()?,
                eps: (eps[0], eps[1]),
                clip_threshold: a.num("clip_threshold", 1.0)?,
                decay_rate: a.num("decay_rate", -0.8)?,
                beta_1: a.opt_num("beta_1")?,
                weight_decay: a.num("weight_decay", 0.0)?,
                scale_parameter: a.flag("scale_parameter", true)?,
                relative_step: a.flag("relative_step", true)?,
                warmup_init: a.flag("warmup_init", false)?,
            })?)
        }
        "Muon" => {
            let ns = a.num("ns_steps", 5.0)?;
            if ns < 0.0 || ns.fract() != 0.0 {
                bail!(
                    Value,
                    "Muon: ns_steps must be a non-negative integer, got {ns}"
                );
            }
            Box::new(Muon::with_options(
                a.need_lr()?,
                MuonOptions {
                    momentum: a.num("momentum", 0.95)?,
                    weight_decay: a.num("weight_decay", 0.01)?,
                    nesterov: a.flag("nesterov", true)?,
                    ns_steps: ns as usize,
                },
            ))
        }
        other => bail!(Value, "unknown optimizer class '{other}'"),
    })
}
