staticnn::model! {
    pub struct M {
        dense(10), relu
    }
}

fn main() {}
