// A block after `residual { … }` that is not `shortcut { … }`.
staticnn::model! {
    pub struct Typo {
        input(4, 8, 8),
        residual { conv2d(4, 3, padding = 1) } shorcut { conv2d(4, 1) },
        flatten,
        dense(2),
    }
}

fn main() {}
