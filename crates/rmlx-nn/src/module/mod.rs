//! The `Module` trait, its per-module state, and the visitor traversal the derive generates.
//!
//! A model is a plain struct deriving [`Module`](crate::Module) (the derive macro). The derive
//! generates only a traversal: [`Module::visit`] / [`Module::visit_mut`] report each member by
//! name (an array parameter, a child module, a list or dict container entered and left), in field
//! declaration order, which is MLX's key order. Everything else — `parameters`, `freeze`,
//! `update`, `named_modules`, … — is library code over that traversal, in [`ModuleExt`].
//!
//! ```
//! use rmlx_nn::{Module, ModuleExt, ModuleState, Keys, Linear};
//! use rmlx_core::Array;
//!
//! #[derive(Module)]
//! struct Mlp {
//!     l1: Linear,
//!     layers: Vec<Linear>,
//!     scale: Array,
//!     shift: Option<Array>,
//!     #[module(skip)]
//!     note: String,
//!     state: ModuleState,
//! }
//!
//! let mut m = Mlp {
//!     l1: Linear::new(2, 3, true)?,
//!     layers: vec![Linear::new(3, 3, false)?],
//!     scale: Array::from_slice(&[1.0f32], &[1])?,
//!     shift: None,
//!     note: "not a member".into(),
//!     state: ModuleState::default(),
//! };
//! let keys: Vec<String> = m.parameters().flatten().into_iter().map(|(k, _)| k).collect();
//! assert_eq!(keys, ["l1.weight", "l1.bias", "layers.0.weight", "scale"]);
//! m.freeze(Keys::All)?.unfreeze("bias")?;
//! let trainable: Vec<String> = m.trainable_parameters().flatten().into_iter().map(|(k, _)| k).collect();
//! assert_eq!(trainable, ["l1.bias"]);
//! # Ok::<(), rmlx_core::Error>(())
//! ```

mod compile_state;
mod display;
mod ext;
pub mod filter;
mod freeze;
pub(crate) mod members;
mod paths;
pub(crate) mod update;
mod weights;
mod weights_io;

pub use compile_state::{module_state_arrays, set_module_state_arrays};
pub use ext::ModuleExt;
pub use freeze::Keys;
pub use members::{MemberNode, MemberNodeMut};
pub use update::UpdateValue;
pub use weights::Weights;

use rmlx_core::Array;
use std::any::Any;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The state every module carries: its frozen-name set (MLX's `_no_grad`) and its training flag.
///
/// A derived struct holds exactly one field of this type (conventionally `state`), initialised
/// with `ModuleState::default()` (nothing frozen, training).
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleState {
    /// Names excluded from this module's trainable parameters (MLX `_no_grad`): member names,
    /// dotted names of container elements (`lst.0`), or names that do not exist yet.
    pub no_grad: HashSet<String>,
    /// Training mode (MLX `_training`), true for a new module.
    pub training: bool,
}

impl Default for ModuleState {
    fn default() -> Self {
        ModuleState {
            no_grad: HashSet::new(),
            training: true,
        }
    }
}

/// Which kind of container a visitor enters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// A list member (`Vec`): elements are named `0`, `1`, …
    List,
    /// A dict member (`HashMap<String, _>` in sorted key order, `IndexMap`, `BTreeMap`).
    Dict,
}

/// Receives a module's members, in order, from [`Module::visit`].
///
/// `hidden` is true for members marked `#[module(hidden)]` (MLX's `_`-prefixed members: not
/// parameters, but reached by train/eval/freeze). It is only meaningful for top-level members.
pub trait Visitor<'a> {
    /// An array parameter.
    fn array(&mut self, name: &str, array: &'a Array, hidden: bool);
    /// A child module (not entered: the visitor decides whether to recurse).
    fn module(&mut self, name: &str, module: &'a dyn Module, hidden: bool);
    /// A list or dict container starts; its elements follow, then [`Visitor::leave`].
    fn enter(&mut self, name: &str, kind: Container, hidden: bool);
    /// The container opened last ends.
    fn leave(&mut self, kind: Container);
}

/// A mutable child-module slot: a typed field (`Linear`) or a boxed one (`Box<dyn Module>`).
pub enum ModuleMut<'a> {
    /// A field of a concrete module type: it can only be replaced by a module of the same type.
    Typed(&'a mut dyn Module),
    /// A `Box<dyn Module>` field: any module can replace it.
    Boxed(&'a mut Box<dyn Module>),
}

impl<'a> ModuleMut<'a> {
    /// The module in the slot.
    pub fn get(&mut self) -> &mut dyn Module {
        match self {
            ModuleMut::Typed(m) => &mut **m,
            ModuleMut::Boxed(b) => b.as_mut().as_module_mut(),
        }
    }

    /// Consumes the slot, giving the module for the slot's whole lifetime.
    pub fn into_module(self) -> &'a mut dyn Module {
        match self {
            ModuleMut::Typed(m) => m,
            ModuleMut::Boxed(b) => b.as_mut().as_module_mut(),
        }
    }

    /// Replaces the module in the slot. A typed slot accepts only its own type; the error names
    /// both classes.
    pub fn replace(&mut self, new: Box<dyn Module>) -> Result<(), String> {
        match self {
            ModuleMut::Typed(m) => m.replace_with(new),
            ModuleMut::Boxed(b) => {
                **b = new;
                Ok(())
            }
        }
    }
}

/// Receives a module's members mutably, in order, from [`Module::visit_mut`].
pub trait VisitorMut<'a> {
    /// An array parameter.
    fn array(&mut self, name: &str, array: &'a mut Array, hidden: bool);
    /// A child module slot.
    fn module(&mut self, name: &str, module: ModuleMut<'a>, hidden: bool);
    /// A list or dict container starts.
    fn enter(&mut self, name: &str, kind: Container, hidden: bool);
    /// The container opened last ends.
    fn leave(&mut self, kind: Container);
}

/// The object-safe core of a module: identity, state and traversal. Derive it with
/// `#[derive(Module)]`; use the methods of [`ModuleExt`].
pub trait Module: Any {
    /// The class name (MLX `type(m).__name__`), e.g. `"Linear"`.
    fn class_name(&self) -> &str;
    /// This module's frozen-name set and training flag.
    fn state(&self) -> &ModuleState;
    /// Mutable access to this module's state.
    fn state_mut(&mut self) -> &mut ModuleState;
    /// Reports every member, in key order.
    fn visit<'a>(&'a self, visitor: &mut dyn Visitor<'a>);
    /// Reports every member mutably, in key order.
    fn visit_mut<'a>(&'a mut self, visitor: &mut dyn VisitorMut<'a>);
    /// Sets this module's training flag (MLX `_set_training_mode`); `train`/`eval` call it on
    /// every module of the tree. A layer whose members change with the mode (`QQLinear`
    /// quantizes its weight for evaluation) overrides it with `#[module(training_mode =
    /// "method")]`.
    fn set_training_mode(&mut self, mode: bool) {
        self.state_mut().training = mode;
    }
    /// The text inside the parentheses of this module's repr (MLX `_extra_repr`).
    fn extra_repr(&self) -> String {
        String::new()
    }
    /// `self` as a trait object.
    fn as_module(&self) -> &dyn Module;
    /// `self` as a mutable trait object.
    fn as_module_mut(&mut self) -> &mut dyn Module;
    /// `self` as `Any` (for downcasting to the concrete layer type).
    fn as_any(&self) -> &dyn Any;
    /// `self` as mutable `Any`.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// The boxed module as `Box<dyn Any>` (for downcasting an owned module).
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
    /// Replaces `self` by `new` if `new` has the same concrete type; otherwise returns an error
    /// naming both classes (used by `update_modules`).
    fn replace_with(&mut self, new: Box<dyn Module>) -> Result<(), String>;
}

/// A value that can be a module member: implemented for `Array`, `Option<T>`, `Vec<T>`,
/// `HashMap<String, T>`, `BTreeMap<String, T>`, `IndexMap<String, T>`, `Box<dyn Module>`, and
/// every type deriving `Module`.
pub trait Member {
    /// Reports this member to `visitor` under `name`.
    fn visit_member<'a>(&'a self, name: &str, hidden: bool, visitor: &mut dyn Visitor<'a>);
    /// Reports this member mutably.
    fn visit_member_mut<'a>(
        &'a mut self,
        name: &str,
        hidden: bool,
        visitor: &mut dyn VisitorMut<'a>,
    );
}

impl Member for Array {
    fn visit_member<'a>(&'a self, name: &str, hidden: bool, v: &mut dyn Visitor<'a>) {
        v.array(name, self, hidden)
    }
    fn visit_member_mut<'a>(&'a mut self, name: &str, hidden: bool, v: &mut dyn VisitorMut<'a>) {
        v.array(name, self, hidden)
    }
}

impl Member for Box<dyn Module> {
    fn visit_member<'a>(&'a self, name: &str, hidden: bool, v: &mut dyn Visitor<'a>) {
        v.module(name, self.as_ref().as_module(), hidden)
    }
    fn visit_member_mut<'a>(&'a mut self, name: &str, hidden: bool, v: &mut dyn VisitorMut<'a>) {
        v.module(name, ModuleMut::Boxed(self), hidden)
    }
}

/// `None` is an absent member (MLX: the attribute set to `None`).
impl<T: Member> Member for Option<T> {
    fn visit_member<'a>(&'a self, name: &str, hidden: bool, v: &mut dyn Visitor<'a>) {
        if let Some(x) = self {
            x.visit_member(name, hidden, v)
        }
    }
    fn visit_member_mut<'a>(&'a mut self, name: &str, hidden: bool, v: &mut dyn VisitorMut<'a>) {
        if let Some(x) = self {
            x.visit_member_mut(name, hidden, v)
        }
    }
}

impl<T: Member> Member for Vec<T> {
    fn visit_member<'a>(&'a self, name: &str, hidden: bool, v: &mut dyn Visitor<'a>) {
        v.enter(name, Container::List, hidden);
        for (i, x) in self.iter().enumerate() {
            x.visit_member(&i.to_string(), false, v);
        }
        v.leave(Container::List);
    }
    fn visit_member_mut<'a>(&'a mut self, name: &str, hidden: bool, v: &mut dyn VisitorMut<'a>) {
        v.enter(name, Container::List, hidden);
        for (i, x) in self.iter_mut().enumerate() {
            x.visit_member_mut(&i.to_string(), false, v);
        }
        v.leave(Container::List);
    }
}

macro_rules! dict_member {
    ($ty:ident, $sorted:expr) => {
        impl<T: Member> Member for $ty<String, T> {
            fn visit_member<'a>(&'a self, name: &str, hidden: bool, v: &mut dyn Visitor<'a>) {
                v.enter(name, Container::Dict, hidden);
                let mut items: Vec<(&'a String, &'a T)> = self.iter().collect();
                if $sorted {
                    items.sort_by(|a, b| a.0.cmp(b.0));
                }
                for (k, x) in items {
                    x.visit_member(k, false, v);
                }
                v.leave(Container::Dict);
            }
            fn visit_member_mut<'a>(
                &'a mut self,
                name: &str,
                hidden: bool,
                v: &mut dyn VisitorMut<'a>,
            ) {
                v.enter(name, Container::Dict, hidden);
                let mut items: Vec<(&'a String, &'a mut T)> = self.iter_mut().collect();
                if $sorted {
                    items.sort_by(|a, b| a.0.cmp(b.0));
                }
                for (k, x) in items {
                    x.visit_member_mut(k, false, v);
                }
                v.leave(Container::Dict);
            }
        }
    };
}
// HashMap has no order of its own: its keys are visited sorted, so names and order are stable.
dict_member!(HashMap, true);
dict_member!(BTreeMap, false);
type IndexMapS<K, V> = indexmap::IndexMap<K, V>;
dict_member!(IndexMapS, false);
