staticnn::model! {
    pub struct NoInput {
        input(0),
        dense(10),
    }
}

staticnn::model! {
    pub struct NoOutput {
        input(784),
        dense(0),
    }
}

fn main() {}
