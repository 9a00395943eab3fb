//! # staticnn
//!
//! Neural networks declared once, in the [`model!`] macro, and compiled into statically
//! sized, shape-checked code over nalgebra's `SMatrix`/`SVector`: straight-line forward
//! and backward passes with no run-time list of layers, no `dyn`, no shape checks at run
//! time and no allocation.
//!
//! ```
//! use staticnn::prelude::*;
//!
//! staticnn::model! {
//!     /// The reference MNIST classifier.
//!     pub struct Mnist {
//!         input(784),
//!         dense(128), relu,
//!         dense(10),
//!     }
//! }
//!
//! let model = Mnist::new_boxed(Init::HeUniform, 42);
//! let logits: SVector<f32, 10> = model.forward(&SVector::zeros());
//! assert_eq!(logits.len(), 10);
//! ```
//!
//! The grammar, the generated items and the training API are described in the crate's
//! README. This crate re-exports the macro and the runtime ([`staticnn_runtime`]), so one
//! dependency is all a user needs.
#![no_std]

pub use staticnn_macros::model;
pub use staticnn_runtime::*;

/// nalgebra, as used by the generated types.
pub use staticnn_runtime::__private::nalgebra;
/// rand, for seeding initialisation and shuffling (`rand::rngs::StdRng::seed_from_u64`).
pub use staticnn_runtime::__private::rand;

/// The traits and types most programs use: `use staticnn::prelude::*;`.
pub mod prelude {
    pub use crate::nalgebra::{SMatrix, SVector};
    #[cfg(feature = "std")]
    pub use staticnn_runtime::Fit;
    pub use staticnn_runtime::{
        Activation, Adam, AdamConfig, BatchTrainer, Init, Initialize, Loss, MeanSquaredError, Model,
        Momentum, Optimizer, Parameters, Sgd, SoftmaxCrossEntropy,
    };
}
