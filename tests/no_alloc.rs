//! The MNIST network's passes run on a 256 KiB stack and never touch the heap.
//!
//! A counting global allocator records every allocation; the passes run on a thread with a
//! 256 KiB stack (a 784 × 128 f32 matrix alone is 392 KiB, so any parameter-sized value
//! built on the stack would overflow it). This file holds a single test so no other test
//! allocates while it counts.

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{Counting, allocations};
use staticnn::prelude::*;

#[global_allocator]
static GLOBAL: Counting = Counting;

staticnn::model! {
    pub struct Mnist {
        input(784),
        dense(128), relu,
        dense(10),
    }
}

const B: usize = 32;

#[test]
fn passes_fit_a_small_stack_and_never_allocate() {
    let worker = std::thread::Builder::new().stack_size(256 * 1024).spawn(|| {
        // Everything large is allocated up front, straight onto the heap.
        let model = Mnist::new_boxed(Init::HeUniform, 1);
        let mut grads = Mnist::zeroed_box();
        let mut cache = Mnist::zeroed_cache::<B>();
        let mut x = staticnn::zeroed_box::<MnistInput<B>>();
        x.iter_mut().enumerate().for_each(|(i, v)| *v = (i % 255) as f32 / 255.0);
        let mut grad_out = staticnn::zeroed_box::<MnistOutput<B>>();
        grad_out.fill(0.01);
        let single = Box::new(x.column(0).into_owned());

        let before = allocations();
        let logits = model.forward(&single);
        model.forward_train(&x, &mut cache);
        model.backward(&x, &mut cache, &grad_out, &mut grads);
        model.backward_params(&x, &mut cache, &grad_out, &mut grads);
        let probs = model.forward_batch(&x, &mut cache)[(3, 0)];
        let after = allocations();
        (after - before, logits, probs, grads.as_slice().iter().any(|g| *g != 0.0))
    });
    let (allocated, logits, probs, has_grads) =
        worker.expect("spawn").join().expect("a pass overflowed the stack");
    assert_eq!(allocated, 0, "the passes allocated");
    assert!(logits.iter().all(|v| v.is_finite()) && probs.is_finite());
    assert!(has_grads, "backward produced no gradient");
}
