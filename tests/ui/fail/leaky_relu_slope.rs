staticnn::model! {
    pub struct Infinite {
        input(4),
        dense(8), leaky_relu(1e400),
        dense(2),
    }
}

staticnn::model! {
    pub struct EmptyParens {
        input(4),
        dense(8), leaky_relu(), relu(),
        dense(2),
    }
}

fn main() {}
