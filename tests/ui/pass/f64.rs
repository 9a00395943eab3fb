// `scalar = f64`, checked against central finite differences.
use staticnn::prelude::*;

staticnn::model! {
    /// Double precision, so the finite differences below are accurate.
    #[model(scalar = f64)]
    pub struct Precise {
        input(3),
        dense(5), tanh,
        dense(2), sigmoid,
    }
}

// The loss is the sum of the outputs, so its gradient with respect to them is all ones.
fn loss(model: &Precise, x: &SVector<f64, 3>) -> f64 {
    model.forward(x).sum()
}

fn main() {
    let model = Precise::new_boxed(Init::GlorotUniform, 3);
    let x = SVector::<f64, 3>::new(0.3, -0.7, 0.2);
    let out: PreciseOutput = model.forward(&x);
    let _: SVector<f64, 2> = out;

    let mut cache = Precise::zeroed_cache::<1>();
    let mut grads = Precise::zeroed_box();
    model.forward_train(&x, &mut cache);
    let dx: SMatrix<f64, 3, 1> = *model.backward(&x, &mut cache, &SMatrix::repeat(1.0), &mut grads);

    let h = 1e-6;
    for i in 0..3 {
        let (mut hi, mut lo) = (x, x);
        hi[i] += h;
        lo[i] -= h;
        let numeric = (loss(&model, &hi) - loss(&model, &lo)) / (2.0 * h);
        assert!((numeric - dx[i]).abs() < 1e-7, "d/dx{i}: {numeric} vs {}", dx[i]);
    }
    for k in 0..<Precise as Parameters>::LEN {
        let (mut hi, mut lo) = (model.boxed_copy(), model.boxed_copy());
        hi.as_mut_slice()[k] += h;
        lo.as_mut_slice()[k] -= h;
        let numeric = (loss(&hi, &x) - loss(&lo, &x)) / (2.0 * h);
        assert!((numeric - grads.as_slice()[k]).abs() < 1e-7, "parameter {k}");
    }

    // `backward_params` accumulates the same parameter gradients.
    let mut again = Precise::zeroed_box();
    model.backward_params(&x, &mut cache, &SMatrix::repeat(1.0), &mut again);
    assert_eq!(again.as_slice(), grads.as_slice());
}
