use staticnn::prelude::*;

staticnn::model! {
    pub struct Small {
        input(4),
        dense(8), relu,
        dense(2),
    }
}

staticnn::model! {
    pub struct Large {
        input(4),
        dense(16), relu,
        dense(2),
    }
}

fn main() {
    let mut small = Small::new_boxed(Init::HeUniform, 0);
    let large = Large::new_boxed(Init::HeUniform, 1);
    small.layer0 = large.layer0;
    let _: Box<Large> = small;
}
