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
    let small = Small::new_boxed(Init::HeUniform, 0);
    let mut grads_of_large = Large::zeroed_box();
    let x = SmallInput::<8>::zeros();
    let g = SmallOutput::<8>::zeros();
    let mut cache_small = Small::zeroed_cache::<8>();
    small.forward_train(&x, &mut cache_small);
    small.backward(&x, &mut cache_small, &g, &mut *grads_of_large);
}
