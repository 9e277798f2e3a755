//! `Sequential`.

use super::{forward_dyn, Forward};
use crate::{Module, ModuleState};
use rmlx_core::{Array, Result};

/// MLX `nn.Sequential`: its modules live in the list member `layers` (`layers.0.weight`, …).
#[derive(Module, Default)]
pub struct Sequential {
    /// The modules, in call order.
    pub layers: Vec<Box<dyn Module>>,
    /// Frozen names and training flag.
    pub state: ModuleState,
}

impl Sequential {
    /// A Sequential over `layers`.
    pub fn new(layers: Vec<Box<dyn Module>>) -> Sequential {
        Sequential {
            layers,
            state: ModuleState::default(),
        }
    }

    /// Calls the layers in order: `x = layer(x)` for each (every layer must be a single-input
    /// layer known to [`forward_dyn`]).
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let mut y = x.clone();
        for l in &self.layers {
            y = forward_dyn(l.as_ref(), &y)?;
        }
        Ok(y)
    }

    /// Appends a module (builder style).
    pub fn push(mut self, m: impl Module) -> Sequential {
        self.layers.push(Box::new(m));
        self
    }
}

impl Forward for Sequential {
    fn forward(&self, x: &Array) -> Result<Array> {
        Sequential::forward(self, x)
    }
}
