// `clamp(min, max)` is an activation like any other: in place after a layer, in training too.
staticnn::model! {
    pub struct Clamped {
        input(4),
        dense(8), clamp(-1, 1),
        dense(8), clamp(0, 6.5),
        dense(2),
    }
}

fn main() {
    let model = Clamped::ZERO;
    let y = staticnn::Model::forward(&model, &ClampedInput::from_element(1.0));
    assert_eq!(y.len(), 2);
}
