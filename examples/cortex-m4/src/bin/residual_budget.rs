//! The compile-time constants of a model with a residual block against the Cortex-M4: the
//! painted stack of `forward` and of one inference with its input on the stack, next to
//! `FORWARD_STACK_BYTES` and `RAM_BYTES` (`bars.sh` checks they are within 10 %). The
//! weights are arbitrary (every layer runs; the figures are about memory, not results).
#![no_std]
#![no_main]

use core::hint::black_box;

use staticnn::Model;
use staticnn_cortex_m4::{Console, budget, entry, finish, painted_stack};

staticnn::model! {
    /// A small residual CNN: the block's input and output stay live across its two
    /// convolutions.
    pub struct Res {
        input(4, 16, 16),
        conv2d(8, 3, padding = 1), relu,
        residual {
            conv2d(8, 3, padding = 1), relu,
            conv2d(8, 3, padding = 1),
        },
        maxpool(2),
        flatten,
        dense(10),
    }
}

/// The model, in flash: small nonzero weights, so that every product runs.
static MODEL: Res = {
    let mut model = Res::ZERO;
    model.layer0.bias =
        staticnn::nalgebra::SVector::from_array_storage(staticnn::nalgebra::ArrayStorage([[0.5; 8]]));
    model
};

/// One inference with its input built on the stack, as a deployment does.
#[inline(never)]
fn infer(seed: f32) -> ResOutput {
    let mut x = ResInput::zeros();
    for (i, v) in x.as_mut_slice().iter_mut().enumerate() {
        *v = seed * (i % 7) as f32;
    }
    MODEL.forward(&x)
}

#[entry]
fn main() -> ! {
    let Some(mut out) = Console::open() else { finish(false) };
    let (_, inference) = painted_stack(|| black_box(infer(black_box(0.25))));
    let x = ResInput::from_element(0.25);
    let (_, forward) = painted_stack(|| black_box(MODEL.forward(black_box(&x))));
    let ok = budget!(Res).write(&mut out, forward, inference);
    finish(ok.is_ok())
}
