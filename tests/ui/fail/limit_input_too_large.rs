// An input beyond the size limit (2^24 values for any one tensor) is rejected on the
// input, before rustc would try to build it: `input(200000000000)` used to pass the macro
// and exhaust the compiler's memory, a 10^18-pixel image to overflow shape inference.
staticnn::model! {
    pub struct Wide {
        input(200000000000),
        dense(2),
    }
}

staticnn::model! {
    pub struct Tall {
        input(1, 1000000000000000000, 1),
        conv2d(1, 3, padding = 16777216),
        flatten,
        dense(2),
    }
}

staticnn::model! {
    pub struct Uncountable {
        input(4294967296, 4294967296, 4294967296),
        flatten,
        dense(2),
    }
}

fn main() {}
