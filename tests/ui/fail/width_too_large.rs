staticnn::model! {
    pub struct Overflow {
        input(4),
        dense(99999999999999999999999),
    }
}

staticnn::model! {
    pub struct Huge {
        input(100000),
        dense(100000 -> 100000000000000),
    }
}

fn main() {}
