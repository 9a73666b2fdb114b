//! Initial values for parameters. The schemes themselves (Xavier/Glorot, He/Kaiming, zeros,
//! constants) live in the engine, [`chainrule_autodiff::init`], so a model built from raw graph
//! ops can use them without this crate; they are re-exported here unchanged (the same random
//! streams). What this crate adds is the choice of scheme for a layer's activation.

pub use chainrule_autodiff::init::*;

use crate::Activation;

/// The usual scheme for a weight feeding `activation`: [`Init::HeNormal`] for ReLU,
/// [`Init::XavierUniform`] for everything else.
///
/// ```
/// use chainrule_layers::init::for_activation;
/// use chainrule_layers::{Activation, Init};
/// assert_eq!(for_activation(Activation::Relu), Init::HeNormal);
/// assert_eq!(for_activation(Activation::Tanh), Init::XavierUniform);
/// ```
pub fn for_activation(activation: Activation) -> Init {
    match activation {
        Activation::Relu => Init::HeNormal,
        _ => Init::XavierUniform,
    }
}
