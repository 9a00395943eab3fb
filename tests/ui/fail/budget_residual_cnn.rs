// Inside a residual block its input stays alive for the skip: with the model's input, the
// block's input and the `relu`'s input and output (4×12×12 each, 2 304 bytes), the `relu`
// needs 7 488 bytes, over 7 KiB with the frames. (A named block's layers are `block.0`, …)
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

// The block's addition (its input, its layers' output and the sum) is reported on the block.
staticnn::model! {
    #[model(budget(ram = 1000))]
    pub struct Add {
        input(4, 4, 4),
        residual { conv2d(4, 1) },
        flatten,
        dense(2),
    }
}

fn main() {}
