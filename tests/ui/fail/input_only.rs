staticnn::model! {
    pub struct JustInput {
        input(784),
    }
}

fn main() {}
