//! The MNIST CNN's batch passes run on a 128 KiB stack and never touch the heap: im2col
//! scratch buffers live in the cache, built on the heap once, like every activation.
//!
//! As `tests/no_alloc.rs` does for the MLP, a counting global allocator records every
//! allocation, and the passes run on a thread with a small stack (one sample's im2col matrix
//! for the second convolution is 110 KiB, one batch of the first convolution's output
//! 1.5 MiB, so a scratch buffer or activation built on the stack would overflow it). This
//! file holds a single test so no other test allocates while it counts.

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{Counting, allocations};
use staticnn::prelude::*;

#[global_allocator]
static GLOBAL: Counting = Counting;

staticnn::model! {
    pub struct MnistCnn {
        input(1, 28, 28),
        conv2d(16, 3, padding = 1), relu,
        maxpool(2),
        block: residual { conv2d(16, 3, padding = 1), relu },
        conv2d(32, 3, padding = 1), relu,
        avgpool(2),
        flatten,
        dense(128), relu,
        dense(10), softmax,
    }
}

const B: usize = 32;

#[test]
fn batch_passes_fit_a_small_stack_and_never_allocate() {
    let worker = std::thread::Builder::new().stack_size(128 * 1024).spawn(|| {
        // Everything large is allocated up front, straight onto the heap.
        let model = MnistCnn::new_boxed(Init::HeUniform, 1);
        let mut grads = MnistCnn::zeroed_box();
        let mut cache = MnistCnn::zeroed_cache::<B>();
        let mut x = staticnn::zeroed_box::<MnistCnnInput<B>>();
        x.iter_mut().enumerate().for_each(|(i, v)| *v = (i % 255) as f32 / 255.0);
        let mut grad_out = staticnn::zeroed_box::<MnistCnnOutput<B>>();
        grad_out.fill(0.01);

        let before = allocations();
        model.forward_train(&x, &mut cache);
        model.backward(&x, &mut cache, &grad_out, &mut grads);
        model.backward_params(&x, &mut cache, &grad_out, &mut grads);
        let probs = model.forward_batch(&x, &mut cache)[(3, 0)];
        let after = allocations();
        (after - before, probs, grads.as_slice().iter().any(|g| *g != 0.0))
    });
    let (allocated, probs, has_grads) = worker.expect("spawn").join().expect("a pass overflowed the stack");
    assert_eq!(allocated, 0, "the passes allocated");
    assert!(probs.is_finite());
    assert!(has_grads, "backward produced no gradient");

    // One sample through `forward` keeps its activations on the stack (the largest, the
    // first convolution's 16×28×28 output, is 49 KiB): it needs a larger stack, no heap.
    let worker = std::thread::Builder::new().stack_size(STACK_SINGLE).spawn(|| {
        let model = MnistCnn::new_boxed(Init::HeUniform, 1);
        let x = Box::new(SVector::<f32, 784>::from_fn(|i, _| (i % 255) as f32 / 255.0));
        let before = allocations();
        let probs = model.forward(&x);
        (allocations() - before, probs.sum())
    });
    let (allocated, total) = worker.expect("spawn").join().expect("forward overflowed the stack");
    assert_eq!(allocated, 0, "forward allocated");
    assert!((total - 1.0).abs() < 1e-5);
}

/// The stack `forward` gets: a few hundred KiB are used, more in debug builds.
const STACK_SINGLE: usize = 1024 * 1024;
