// The generated types make a batch norm's parameters of the wrong width a type error:
// layer 1 normalises 4 features.
use staticnn::{BatchNorm, Model};

staticnn::model! {
    pub struct Net {
        input(8),
        dense(4), batchnorm1d, relu,
        dense(2),
    }
}

fn main() {
    let mut net = Net::new_boxed(staticnn::Init::HeUniform, 0);
    net.layer1 = BatchNorm::<f32, 8, 1, 8>::IDENTITY;
}
