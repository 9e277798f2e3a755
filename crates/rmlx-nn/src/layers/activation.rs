//! Activation modules (MLX's `nn.ReLU`, `nn.GELU`, …): thin wrappers over
//! [`crate::activations`]. Only [`PReLU`] has a parameter (`weight`).

use super::Forward;
use crate::activations as act;
use crate::{Module, ModuleState};
use rmlx_core::{Array, Error, Result};

/// The activation a transformer layer applies (MLX passes a function; it is a plain attribute,
/// not a member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `max(x, 0)` (MLX's default).
    Relu,
    /// Exact gelu.
    Gelu,
    /// Tanh-approximated gelu.
    GeluApprox,
    /// `x * sigmoid(1.702 x)`.
    GeluFastApprox,
    /// `x * sigmoid(x)`.
    Silu,
}

impl Activation {
    /// Parses `"relu"`, `"gelu"`, `"gelu_approx"`, `"gelu_fast_approx"` or `"silu"`.
    pub fn from_name(name: &str) -> Result<Activation> {
        match name {
            "relu" => Ok(Activation::Relu),
            "gelu" => Ok(Activation::Gelu),
            "gelu_approx" => Ok(Activation::GeluApprox),
            "gelu_fast_approx" => Ok(Activation::GeluFastApprox),
            "silu" => Ok(Activation::Silu),
            _ => Err(Error::Value(format!(
                "unknown activation {name:?}: expected \"relu\", \"gelu\", \"gelu_approx\", \"gelu_fast_approx\" or \"silu\""
            ))),
        }
    }

    /// Applies the activation.
    pub fn apply(&self, x: &Array) -> Result<Array> {
        match self {
            Activation::Relu => act::relu(x),
            Activation::Gelu => act::gelu(x),
            Activation::GeluApprox => act::gelu_approx(x),
            Activation::GeluFastApprox => act::gelu_fast_approx(x),
            Activation::Silu => act::silu(x),
        }
    }
}

macro_rules! simple_activation {
    ($(#[$doc:meta] $ty:ident, $name:literal, |$x:ident| $body:expr;)*) => {
        $(
            #[$doc]
            #[derive(Module, Clone, Default)]
            #[module(name = $name)]
            pub struct $ty {
                /// Frozen names and training flag.
                pub state: ModuleState,
            }

            impl $ty {
                /// The module.
                pub fn new() -> $ty {
                    $ty::default()
                }

                /// Applies the activation.
                pub fn forward(&self, $x: &Array) -> Result<Array> {
                    $body
                }
            }

            impl Forward for $ty {
                fn forward(&self, x: &Array) -> Result<Array> {
                    $ty::forward(self, x)
                }
            }
        )*
    };
}

simple_activation! {
    /// MLX `nn.ReLU`: `maximum(x, 0)`.
    Relu, "ReLU", |x| act::relu(x);
    /// MLX `nn.ReLU2`: `maximum(x, 0)^2`.
    Relu2, "ReLU2", |x| act::relu2(x);
    /// MLX `nn.ReLU6`: `minimum(maximum(x, 0), 6)`.
    Relu6, "ReLU6", |x| act::relu6(x);
    /// MLX `nn.SELU`.
    Selu, "SELU", |x| act::selu(x);
    /// MLX `nn.Sigmoid`.
    Sigmoid, "Sigmoid", |x| act::sigmoid(x);
    /// MLX `nn.SiLU`: `x * sigmoid(x)`.
    Silu, "SiLU", |x| act::silu(x);
    /// MLX `nn.Tanh`.
    Tanh, "Tanh", |x| act::tanh(x);
    /// MLX `nn.Softplus`: `logaddexp(x, 0)`.
    Softplus, "Softplus", |x| act::softplus(x);
    /// MLX `nn.Softsign`: `x / (1 + |x|)`.
    Softsign, "Softsign", |x| act::softsign(x);
    /// MLX `nn.Mish`: `x * tanh(softplus(x))`.
    Mish, "Mish", |x| act::mish(x);
    /// MLX `nn.LogSigmoid`: `-softplus(-x)`.
    LogSigmoid, "LogSigmoid", |x| act::log_sigmoid(x);
    /// MLX `nn.Hardswish`.
    Hardswish, "Hardswish", |x| act::hardswish(x);
    /// MLX `nn.HardTanh` (bounds -1, 1).
    HardTanh, "HardTanh", |x| act::hard_tanh(x, -1.0, 1.0);
    /// MLX `nn.LogSoftmax` over the last axis.
    LogSoftmax, "LogSoftmax", |x| act::log_softmax(x, -1);
    /// MLX `nn.Softmax` over the last axis.
    Softmax, "Softmax", |x| act::softmax(x, -1);
    /// MLX `nn.Softmin` over the last axis.
    Softmin, "Softmin", |x| act::softmin(x, -1);
    /// MLX `nn.GLU` over the last axis.
    Glu, "GLU", |x| act::glu(x, -1);
}

macro_rules! param_activation {
    ($(#[$doc:meta] $ty:ident, $name:literal, $field:ident, $default:expr, |$s:ident, $x:ident| $body:expr;)*) => {
        $(
            #[$doc]
            #[derive(Module, Clone)]
            #[module(name = $name)]
            pub struct $ty {
                /// The activation's constant.
                #[module(skip)]
                pub $field: f64,
                /// Frozen names and training flag.
                pub state: ModuleState,
            }

            impl Default for $ty {
                fn default() -> $ty {
                    $ty::new($default)
                }
            }

            impl $ty {
                /// The module with the given constant.
                pub fn new($field: f64) -> $ty {
                    $ty { $field, state: ModuleState::default() }
                }

                /// Applies the activation.
                pub fn forward(&self, $x: &Array) -> Result<Array> {
                    let $s = self;
                    $body
                }
            }

            impl Forward for $ty {
                fn forward(&self, x: &Array) -> Result<Array> {
                    $ty::forward(self, x)
                }
            }
        )*
    };
}

param_activation! {
    /// MLX `nn.LeakyReLU(negative_slope=0.01)`.
    LeakyRelu, "LeakyReLU", negative_slope, 0.01, |s, x| act::leaky_relu(x, s.negative_slope);
    /// MLX `nn.ELU(alpha=1.0)`.
    Elu, "ELU", alpha, 1.0, |s, x| act::elu(x, s.alpha);
    /// MLX `nn.CELU(alpha=1.0)`.
    Celu, "CELU", alpha, 1.0, |s, x| act::celu(x, s.alpha);
    /// MLX `nn.Softshrink(lambd=0.5)`.
    Softshrink, "Softshrink", lambd, 0.5, |s, x| act::softshrink(x, s.lambd);
    /// MLX `nn.HardShrink(lambd=0.5)`.
    HardShrink, "HardShrink", lambd, 0.5, |s, x| act::hard_shrink(x, s.lambd);
    /// MLX `nn.Step(threshold=0.0)`.
    Step, "Step", threshold, 0.0, |s, x| act::step(x, s.threshold);
}

/// MLX `nn.GELU(approx)`: `approx` is `"none"`, `"precise"`/`"tanh"` or `"fast"`.
#[derive(Module, Clone)]
#[module(name = "GELU")]
pub struct Gelu {
    /// The approximation.
    #[module(skip)]
    pub approx: String,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Gelu {
    /// A GELU module; errors on an unknown approximation.
    pub fn new(approx: &str) -> Result<Gelu> {
        match approx {
            "none" | "precise" | "tanh" | "fast" => Ok(Gelu {
                approx: approx.to_string(),
                state: ModuleState::default(),
            }),
            _ => Err(Error::Value(format!(
                "The approximation should be in ['none', 'precise', 'tanh', 'fast'] but '{approx}' was given"
            ))),
        }
    }

    /// Applies the chosen gelu.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        act::gelu_by_name(x, &self.approx)
    }
}

impl Forward for Gelu {
    fn forward(&self, x: &Array) -> Result<Array> {
        Gelu::forward(self, x)
    }
}

/// MLX `nn.PReLU(num_parameters=1, init=0.25)`: a learnable slope `weight` `[num_parameters]`.
#[derive(Module, Clone)]
#[module(name = "PReLU")]
pub struct PRelu {
    /// The negative slopes.
    pub weight: Array,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl PRelu {
    /// `PReLU(num_parameters, init)`.
    pub fn new(num_parameters: usize, init: f32) -> Result<PRelu> {
        Ok(PRelu {
            weight: super::filled(&[num_parameters], init)?,
            state: ModuleState::default(),
        })
    }

    /// `maximum(0, x) + weight * minimum(0, x)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        act::prelu(x, &self.weight)
    }
}

impl Forward for PRelu {
    fn forward(&self, x: &Array) -> Result<Array> {
        PRelu::forward(self, x)
    }
}
