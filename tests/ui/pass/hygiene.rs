// Generated code names nothing that can collide with the user's items: models may share
// names with runtime items, and user types such as `B` or `SMatrix` in scope change nothing.
#![allow(dead_code)]

use staticnn::Model as _;
use staticnn::Parameters;

pub struct B;
pub struct SMatrix;
pub trait Rng {}

staticnn::model! {
    pub struct Model { input(4), dense(2) }
}

staticnn::model! {
    pub struct Init { input(3), relu, dense(2), softmax }
}

staticnn::model! {
    pub struct Tensor { input(2), dense(2 -> 3), tanh, dense(1) }
}

staticnn::model! {
    pub struct SVector { input(2), x: dense(2), sigmoid }
}

fn main() {
    let model = Model::ZERO;
    assert_eq!(model.forward(&staticnn::nalgebra::SVector::zeros()).len(), 2);
    assert_eq!(<Init as Parameters>::LEN, 3 * 2 + 2);
    assert_eq!(<Tensor as Parameters>::LEN, 2 * 3 + 3 + 3 + 1);
    assert_eq!(<SVector as Parameters>::LEN, 2 * 2 + 2);
    let _unit = B;
}
