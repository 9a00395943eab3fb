// A layer whose weight, output or scratch would exceed 2^24 values is rejected on the
// layer, naming the tensor, its size and the limit.
staticnn::model! {
    pub struct WideWeight {
        input(16777216),
        dense(2),
    }
}

staticnn::model! {
    pub struct HugePadding {
        input(1, 4000, 4000),
        conv2d(1, 3, padding = 16777216),
        flatten,
        dense(2),
    }
}

staticnn::model! {
    pub struct HugePatches {
        input(64, 256, 256),
        conv2d(64, 3, padding = 1),
        global_avgpool,
        dense(2),
    }
}

staticnn::model! {
    pub struct Nested {
        input(8),
        residual { dense(100000000), dense(8) },
        dense(2),
    }
}

fn main() {}
