// Inside a residual block, the block's output slot (a copy of its input) is live from its
// start and its layers' outputs until its end: with the input (576 bytes), the first
// convolution's output (2 304 bytes, `relu` in place), the block's output and its
// convolution's (2 304 each), the block's convolution needs 7 488 bytes, over 7 KiB with the
// 384 bytes of frames. (A named block's layers are `block.0`, `block.1`, …)
staticnn::model! {
    #[model(budget(flash = "64K", ram = "7K"))]
    pub struct Res {
        input(1, 12, 12),
        conv2d(4, 3, padding = 1), relu,
        block: residual { conv2d(4, 3, padding = 1), relu },
        maxpool(2),
        flatten,
        dense(10),
    }
}

// Nested blocks: the inner block's layers are labelled `1.1.0`, …
staticnn::model! {
    #[model(budget(ram = 1000))]
    pub struct Nested {
        input(32),
        dense(32),
        residual { dense(32), residual { dense(32), relu }, relu },
        dense(2),
    }
}

fn main() {}
