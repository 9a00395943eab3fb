// The fixture holds NaN and infinities (tests/baked_weights.rs bakes it with
// `allow_non_finite`); without that option they are refused, as the runtime's loader does.
staticnn::model! {
    #[model(weights = "../../fixtures/edge_values.safetensors")]
    pub struct Edge {
        input(3),
        dense(2),
    }
}

fn main() {}
