// Inside a residual block, the block's output slot is live from its start and its layers'
// outputs until its end: with the input (576 bytes), the first convolution's output (twice)
// and `relu`'s (2 304 bytes each), the block's output, its convolution's (twice) and its
// `relu`'s, the `relu` needs 16 704 bytes, over 16 KiB with the frames. (A named block's
// layers are `block.0`, `block.1`, …)
staticnn::model! {
    #[model(budget(flash = "64K", ram = "16K"))]
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
