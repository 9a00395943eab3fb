// The input (3 136 bytes) and the first convolution's 16×28×28 output (50 176 bytes, built
// in a local of its own and copied: twice that) are over 48 KiB: the error lands on that
// convolution.
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

// Under 128 KiB the convolution fits, and the `relu` after it (whose output adds another
// 50 176 bytes) does not.
staticnn::model! {
    #[model(budget(ram = "128K"))]
    pub struct Relu {
        input(1, 28, 28),
        conv2d(16, 3, padding = 1), relu, maxpool(2),
        flatten,
        dense(10),
    }
}

fn main() {}
