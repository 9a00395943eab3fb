// The input (3 136 bytes), the first convolution's 16×28×28 output (50 176 bytes) and the
// 384 bytes of frames are over 48 KiB: the error lands on that convolution.
staticnn::model! {
    #[model(budget(ram = "48K"))]
    pub struct Cnn {
        input(1, 28, 28),
        conv2d(16, 3, padding = 1), relu, maxpool(2),
        conv2d(32, 3, padding = 1), relu, maxpool(2),
        flatten,
        dense(128), relu,
        dense(10),
    }
}

// Under 64 KiB the convolution fits (its `relu` works in place, adding nothing), and the
// pooling's 12 544-byte output, next to the convolution's, does not.
staticnn::model! {
    #[model(budget(ram = "64K"))]
    pub struct Pool {
        input(1, 28, 28),
        conv2d(16, 3, padding = 1), relu, maxpool(2),
        flatten,
        dense(10),
    }
}

fn main() {}
