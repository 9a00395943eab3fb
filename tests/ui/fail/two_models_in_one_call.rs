staticnn::model! {
    pub struct Encoder { input(4), dense(2) }
    pub struct Decoder { input(2), dense(4) }
}

fn main() {}
