staticnn::model! {
    pub struct Bare { input(4), 3 }
}

staticnn::model! {
    pub struct NamedNumber { input(4), hidden: 3 }
}

fn main() {}
