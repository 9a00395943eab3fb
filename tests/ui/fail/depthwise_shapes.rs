// A depthwise convolution needs an image, a kernel that fits it, and (with `exact`) a
// stride that tiles it; its output has `multiplier` times the input's channels, which the
// next layer's declared width must match.
staticnn::model! {
    pub struct Flat {
        input(64),
        depthwise_conv2d(3),
        dense(2),
    }
}

staticnn::model! {
    pub struct TooLarge {
        input(2, 4, 4),
        depthwise_conv2d(5, padding = 0),
        flatten,
        dense(2),
    }
}

staticnn::model! {
    pub struct NotExact {
        input(2, 8, 8),
        depthwise_conv2d(3, stride = 2, exact = true),
        flatten,
        dense(2),
    }
}

staticnn::model! {
    pub struct WrongWidth {
        input(2, 4, 4),
        depthwise_conv2d(3, multiplier = 2, padding = 1),
        flatten,
        dense(32 -> 2),
    }
}

fn main() {}
