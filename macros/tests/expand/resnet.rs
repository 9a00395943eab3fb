staticnn::model! {
    /// A residual block whose shortcut is a strided 1×1 convolution, as ResNet's
    /// downsampling blocks have it.
    pub struct Down {
        input(2, 4, 4),
        block: residual {
            conv2d(4, 3, stride = 2, padding = same), relu,
            conv2d(4, 3, padding = same),
        } shortcut {
            conv2d(4, 1, stride = 2),
        },
        relu,
        flatten,
        dense(3),
    }
}
