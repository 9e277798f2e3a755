//! The main job (in progress): until the Transformer fine-tuning example lands, this shows the
//! lazy array model the rest is built on.

use rmlx::core as mx;

fn main() -> mx::Result<()> {
    let x = mx::Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    let y = ((&x * &x)? + 1.0)?; // lazy: nothing computed yet
    let total = y.sum(None, false)?;
    println!("y = x*x + 1 -> {:?}", y.to_vec::<f32>()?);
    println!("sum(y)      -> {}", total.item::<f32>()?);
    Ok(())
}
