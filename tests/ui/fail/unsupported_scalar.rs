staticnn::model! {
    #[model(scalar = i32)]
    pub struct Quantised {
        input(4),
        dense(2),
    }
}

fn main() {}
