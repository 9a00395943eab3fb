// `depthwise_conv2d` takes its kernel (by position or `kernel =`), `multiplier`, `stride`,
// `padding` and `exact`: each mistake is reported on the offending argument.
staticnn::model! {
    pub struct NoKernel {
        input(3, 8, 8),
        depthwise_conv2d,
        flatten,
        dense(2),
    }
}

staticnn::model! {
    pub struct ZeroMultiplier {
        input(3, 8, 8),
        depthwise_conv2d(3, multiplier = 0),
        flatten,
        dense(2),
    }
}

staticnn::model! {
    pub struct OutChannels {
        input(3, 8, 8),
        depthwise_conv2d(3, out_channels = 6),
        flatten,
        dense(2),
    }
}

staticnn::model! {
    pub struct TwoPositional {
        input(3, 8, 8),
        depthwise_conv2d(6, 3),
        flatten,
        dense(2),
    }
}

fn main() {}
