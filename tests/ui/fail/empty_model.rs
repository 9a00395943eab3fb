staticnn::model! {
    pub struct Empty {}
}

fn main() {}
