staticnn::model! {
    /// Convolutions, pools, a residual block and a softmax head.
    pub struct Cnn {
        input(1, 12, 12),
        conv2d(4, 3, padding = 1), leaky_relu(0.1),
        maxpool(2),
        block: residual { conv2d(4, 3, padding = 1), relu },
        flatten,
        dense(10),
        softmax,
    }
}
