// Absurd kernel sizes, strides and paddings are rejected on the value, not by an overflow.
staticnn::model! {
    pub struct Huge {
        input(1, 28, 28),
        conv2d(4, 3, padding = 18446744073709551615),
        conv2d(4, 99999999999, stride = 99999999999),
        maxpool(2, stride = 18446744073709551615),
        flatten,
        dense(10),
    }
}

fn main() {}
