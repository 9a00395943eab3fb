//! Fuzzes the safetensors loader: any bytes loaded into a model must give a
//! `WeightsError` (or a loaded model), never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use staticnn::prelude::*;

staticnn::model! {
    /// The seed `corpus/safetensors/seed-small.safetensors` holds this model's tensors
    /// (`0.weight [3, 4]`, `0.bias [3]`, `2.weight [2, 3]`, `2.bias [2]`).
    pub struct Small {
        input(4),
        dense(3), relu,
        dense(2),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut model = Small::new_boxed(Init::HeUniform, 0);
    let _ = staticnn::io::from_safetensors_bytes(&mut *model, data);
});
