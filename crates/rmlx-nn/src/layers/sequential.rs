//! `Sequential`.

use crate::{Module, ModuleState};

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

    /// Appends a module (builder style).
    pub fn push(mut self, m: impl Module) -> Sequential {
        self.layers.push(Box::new(m));
        self
    }
}
