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
//! let logits: MnistOutput = model.forward(&MnistInput::zeros());
//! assert_eq!(logits.len(), Mnist::OUTPUT);
//! ```
//!
//! [`model!`] documents the grammar of a declaration and what it generates. The generated
//! models implement [`Model`], [`Parameters`] and [`Initialize`], so everything else —
//! the [`Layer`]s they are made of, [losses](Loss), [optimizers](Optimizer), the
//! [`Trainer`]s, [data loading](Dataset) and [weight files](load_safetensors) — is written
//! once in the runtime ([`staticnn_runtime`]), which this crate re-exports: one dependency
//! is all a user needs.
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
        Adam, AdamConfig, BatchTrainer, Init, Initialize, Layer, Loss, MeanSquaredError, Model, Momentum,
        Optimizer, Parameters, Sgd, SoftmaxCrossEntropy,
    };
}
