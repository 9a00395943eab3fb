// The smallest model: one dense layer, no activation.
use staticnn::prelude::*;

staticnn::model! {
    /// A single affine map from 3 to 2.
    pub struct Affine {
        input(3),
        dense(2),
    }
}

fn main() {
    assert_eq!(Affine::INPUT, 3);
    assert_eq!(Affine::OUTPUT, 2);
    assert_eq!(<Affine as Parameters>::LEN, 3 * 2 + 2);

    // `ZERO` works in a const context, and the one field is `layer0`.
    const ZERO: Affine = Affine::ZERO;
    let y: SVector<f32, 2> = ZERO.forward(&SVector::from([1.0, 2.0, 3.0]));
    assert_eq!(y, SVector::<f32, 2>::zeros());

    // Set the weights by hand: y = W x + b.
    let mut model = Affine::zeroed_box();
    model.layer0 = staticnn::Dense::from_rows([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]], [0.5, -0.5]);
    let y: AffineOutput = model.forward(&AffineInput::from([1.0, 2.0, 3.0]));
    assert_eq!(y, SVector::<f32, 2>::new(1.5, 4.5));

    let mut names = Vec::new();
    model.visit(&mut |t| names.push((t.name.to_string(), t.shape.dims().to_vec())));
    assert_eq!(names, [("0.weight".to_string(), vec![2, 3]), ("0.bias".to_string(), vec![2])]);
}
