// Per-axis strides and paddings, and TensorFlow's `same`: what the macro rejects, each with
// its span on the offending argument or layer.
staticnn::model! {
    pub struct PaddingTypo {
        input(1, 8, 8),
        conv2d(4, 3, padding = sme),
        flatten,
        dense(2),
    }
}

staticnn::model! {
    pub struct PaddingTriple {
        input(1, 8, 8),
        conv2d(4, 3, padding = (1, 1, 1)),
        flatten,
        dense(2),
    }
}

staticnn::model! {
    pub struct ZeroStride {
        input(1, 8, 8),
        depthwise_conv2d(3, stride = (2, 0)),
        flatten,
        dense(2),
    }
}

staticnn::model! {
    // `same` keeps ⌈8/3⌉ = 3 outputs of a 1×1 kernel: inputs 0, 3 and 6, so row 7 and
    // column 7 are never read.
    pub struct SameNotExact {
        input(1, 8, 8),
        conv2d(4, 1, stride = 3, padding = same, exact = true),
        flatten,
        dense(2),
    }
}

staticnn::model! {
    // Pools take no padding.
    pub struct PoolPadding {
        input(1, 8, 8),
        maxpool(2, padding = same),
        flatten,
        dense(2),
    }
}

staticnn::model! {
    // Padding only on the columns does not make a 7-row kernel fit 4 rows.
    pub struct TallKernel {
        input(1, 4, 4),
        conv2d(2, (7, 3), padding = (1, 0)),
        flatten,
        dense(2),
    }
}

staticnn::model! {
    // A strided "same" convolution halves the image: the residual's skip cannot be added.
    pub struct SameStrideInResidual {
        input(4, 8, 8),
        residual { conv2d(4, 3, stride = 2, padding = same) },
        flatten,
        dense(2),
    }
}

staticnn::model! {
    // After a "same" convolution with stride (2, 1) the image is 8×4×8 = 256 wide, not 512.
    pub struct WidthAfterSame {
        input(1, 8, 8),
        conv2d(8, 3, stride = (2, 1), padding = same),
        flatten,
        dense(512 -> 2),
    }
}

staticnn::model! {
    // A pool window larger than its input along one axis only.
    pub struct PoolTooWide {
        input(1, 6, 4),
        avgpool((2, 5)),
        flatten,
        dense(2),
    }
}

fn main() {}
