//! Elementwise unary kernels: [`UnaryOp`] and [`eval`], which picks the element types once and
//! runs the generic elementwise kernel. Math functions compute f16/bf16 in f32 tiles.

use half::{bf16, f16};

use super::complex;
use super::elementwise::{load_f32, map_tiles, map_unary, store_bool, store_f32, Load, Store};
use super::scalar::{Arith, Bits, FloatMath, Real};
use crate::buffer::Data;
use crate::{bail, dispatch_all, Dtype, Result};

/// Which unary operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `|x|`
    Abs,
    /// `-x`
    Negative,
    /// -1, 0 or 1
    Sign,
    /// `x * x`
    Square,
    /// `sqrt(x)`
    Sqrt,
    /// `1 / sqrt(x)`
    Rsqrt,
    /// `1 / x`
    Reciprocal,
    /// `e^x`
    Exp,
    /// `e^x - 1`
    Expm1,
    /// natural log
    Log,
    /// `ln(1 + x)`
    Log1p,
    /// base-2 log
    Log2,
    /// base-10 log
    Log10,
    /// sine
    Sin,
    /// cosine
    Cos,
    /// tangent
    Tan,
    /// arcsine
    ArcSin,
    /// arccosine
    ArcCos,
    /// arctangent
    ArcTan,
    /// hyperbolic sine
    Sinh,
    /// hyperbolic cosine
    Cosh,
    /// hyperbolic tangent
    Tanh,
    /// inverse hyperbolic sine
    ArcSinh,
    /// inverse hyperbolic cosine
    ArcCosh,
    /// inverse hyperbolic tangent
    ArcTanh,
    /// logistic sigmoid
    Sigmoid,
    /// error function
    Erf,
    /// inverse error function
    ErfInv,
    /// round down
    Floor,
    /// round up
    Ceil,
    /// round half to even
    Round,
    /// `!x` on bool
    LogicalNot,
    /// `~x` on integers
    BitwiseInvert,
    /// NaN test (bool output)
    IsNan,
    /// ±inf test (bool output)
    IsInf,
    /// finite test (bool output)
    IsFinite,
}

impl UnaryOp {
    /// MLX's primitive name.
    pub fn name(self) -> &'static str {
        use UnaryOp::*;
        match self {
            Abs => "Abs",
            Negative => "Negative",
            Sign => "Sign",
            Square => "Square",
            Sqrt => "Sqrt",
            Rsqrt => "Rsqrt",
            Reciprocal => "Reciprocal",
            Exp => "Exp",
            Expm1 => "Expm1",
            Log => "Log",
            Log1p => "Log1p",
            Log2 => "Log2",
            Log10 => "Log10",
            Sin => "Sin",
            Cos => "Cos",
            Tan => "Tan",
            ArcSin => "ArcSin",
            ArcCos => "ArcCos",
            ArcTan => "ArcTan",
            Sinh => "Sinh",
            Cosh => "Cosh",
            Tanh => "Tanh",
            ArcSinh => "ArcSinh",
            ArcCosh => "ArcCosh",
            ArcTanh => "ArcTanh",
            Sigmoid => "Sigmoid",
            Erf => "Erf",
            ErfInv => "ErfInv",
            Floor => "Floor",
            Ceil => "Ceil",
            Round => "Round",
            LogicalNot => "LogicalNot",
            BitwiseInvert => "BitwiseInvert",
            IsNan => "IsNaN",
            IsInf => "IsInf",
            IsFinite => "IsFinite",
        }
    }

    /// True for the ops whose output is bool.
    pub fn outputs_bool(self) -> bool {
        matches!(
            self,
            UnaryOp::LogicalNot | UnaryOp::IsNan | UnaryOp::IsInf | UnaryOp::IsFinite
        )
    }

    /// True for the ops with a zero derivative everywhere (or no derivative).
    pub fn has_zero_gradient(self) -> bool {
        use UnaryOp::*;
        matches!(
            self,
            Sign | Floor | Ceil | Round | LogicalNot | BitwiseInvert | IsNan | IsInf | IsFinite
        )
    }
}

/// The float math ops, each as `$m!(function)` or (bool results) `$pred!(predicate)`, in an
/// `Ok(..)`; the other ops are an internal error. One table for the per-dtype kernels and the
/// f32 tile kernels.
macro_rules! float_ops {
    ($op:expr, $m:ident, $pred:ident) => {{
        use UnaryOp::*;
        Ok(match $op {
            Square => $m!(square),
            Sqrt => $m!(sqrt),
            Rsqrt => $m!(rsqrt),
            Reciprocal => $m!(reciprocal),
            Exp => $m!(exp),
            Expm1 => $m!(expm1),
            Log => $m!(log),
            Log1p => $m!(log1p),
            Log2 => $m!(log2),
            Log10 => $m!(log10),
            Sin => $m!(sin),
            Cos => $m!(cos),
            Tan => $m!(tan),
            ArcSin => $m!(arcsin),
            ArcCos => $m!(arccos),
            ArcTan => $m!(arctan),
            Sinh => $m!(sinh),
            Cosh => $m!(cosh),
            Tanh => $m!(tanh),
            ArcSinh => $m!(arcsinh),
            ArcCosh => $m!(arccosh),
            ArcTanh => $m!(arctanh),
            Sigmoid => $m!(sigmoid),
            Erf => $m!(erf),
            ErfInv => $m!(erfinv),
            Floor => $m!(floor),
            Ceil => $m!(ceil),
            Round => $m!(round),
            IsNan => $pred!(is_nan),
            IsInf => $pred!(is_inf),
            IsFinite => $pred!(is_finite),
            op @ (Abs | Negative | Sign | LogicalNot | BitwiseInvert) => {
                bail!(Dtype, "{}: internal: not a float kernel", op.name())
            }
        })
    }};
}

fn float_kernel<T: Real>(op: UnaryOp, x: Data, dtype: Dtype) -> Result<Data> {
    macro_rules! m {
        ($f:ident) => {
            map_unary::<T, T>(x, dtype, |v| T::from_c(<T::C as FloatMath>::$f(v.to_c())))?
        };
    }
    macro_rules! pred {
        ($f:ident) => {
            map_unary::<T, u8>(x, dtype, |v| <T::C as FloatMath>::$f(v.to_c()) as u8)?
        };
    }
    float_ops!(op, m, pred)
}

/// Math through f32 tiles and the op's f32 slice kernel: f16/bf16 (rounded once on the way
/// out, the same numbers as computing each element in f32, with no f16/bf16 kernel instances)
/// and strided f32.
fn tile_kernel(
    op: UnaryOp,
    x: &Data,
    dtype: Dtype,
    (load, store): (Load<f32>, Store<f32>),
) -> Result<Data> {
    let f = f32_tile_op(op)?;
    let store = if op.outputs_bool() { store_bool } else { store };
    map_tiles::<f32, 1>([x], dtype, [load], &|t, m| f(&mut t[0][..m]), store)
}

/// The transcendental f32 ops as in-place slice loops compiled for AVX-512 or AVX2+FMA at run
/// time (the generic kernels are compiled for the baseline target, 4 lanes); `None` for the
/// other ops.
fn simd_tile_op(op: UnaryOp) -> Option<fn(&mut [f32])> {
    macro_rules! simd_slice {
        ($f:path) => {{
            #[inline(always)]
            fn generic(t: &mut [f32]) {
                // a plain loop: `for_each` with a large closure is not always inlined into the
                // target-feature functions below, and would then run at the baseline width
                for v in t.iter_mut() {
                    *v = $f(*v);
                }
            }
            fn dispatch(t: &mut [f32]) {
                #[cfg(target_arch = "x86_64")]
                {
                    #[target_feature(enable = "avx512f,avx2,fma")]
                    unsafe fn v4(t: &mut [f32]) {
                        generic(t)
                    }
                    #[target_feature(enable = "avx2,fma")]
                    unsafe fn v3(t: &mut [f32]) {
                        generic(t)
                    }
                    if std::arch::is_x86_feature_detected!("avx512f") {
                        // SAFETY: the CPU supports AVX-512F (checked just above), the only
                        // requirement of calling a function compiled with that feature.
                        return unsafe { v4(t) };
                    }
                    if std::arch::is_x86_feature_detected!("avx2")
                        && std::arch::is_x86_feature_detected!("fma")
                    {
                        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                        return unsafe { v3(t) };
                    }
                }
                generic(t)
            }
            Some(dispatch as fn(&mut [f32]))
        }};
    }
    use super::{fastmath, special};
    match op {
        UnaryOp::Exp => simd_slice!(fastmath::exp_f32),
        UnaryOp::Expm1 => simd_slice!(fastmath::expm1_f32),
        UnaryOp::Tanh => simd_slice!(fastmath::tanh_f32),
        UnaryOp::Sigmoid => simd_slice!(fastmath::sigmoid_f32),
        UnaryOp::Erf => simd_slice!(special::erf_f32),
        _ => None,
    }
}

/// A transcendental op on a contiguous f32 input through [`simd_tile_op`] (in the input's
/// buffer when it can be donated), split across the pool; gives the input back otherwise.
fn f32_simd_contiguous(op: UnaryOp, mut x: Data, dtype: Dtype) -> std::result::Result<Data, Data> {
    use super::parallel::{for_each_chunk_mut, PAR_CHUNK, PAR_THRESHOLD};
    let Some(f) = simd_tile_op(op).filter(|_| dtype == Dtype::F32) else {
        return Err(x);
    };
    let (n, shape) = (x.size(), x.shape.clone());
    let par = n >= PAR_THRESHOLD;
    if let Some(mut buf) = x.try_donate(n * 4) {
        let t = &mut buf.as_mut_slice::<f32>()[..n];
        for_each_chunk_mut(t, PAR_CHUNK, par, &|_, c: &mut [f32]| f(c));
        return Ok(Data::new(buf, dtype, &shape));
    }
    let Some(src) = x.contiguous_slice::<f32>() else {
        return Err(x);
    };
    let mut buf = crate::buffer::Buffer::new(n * 4);
    let t = &mut buf.as_mut_slice::<f32>()[..n];
    for_each_chunk_mut(t, PAR_CHUNK, par, &|first, c: &mut [f32]| {
        c.copy_from_slice(&src[first..first + c.len()]);
        f(c)
    });
    Ok(Data::new(buf, dtype, &shape))
}

/// The in-place f32 slice kernel of a float op (predicates write 1.0 or 0.0).
fn f32_tile_op(op: UnaryOp) -> Result<fn(&mut [f32])> {
    if let Some(f) = simd_tile_op(op) {
        return Ok(f);
    }
    macro_rules! m {
        ($f:ident) => {
            |t: &mut [f32]| t.iter_mut().for_each(|v| *v = <f32 as FloatMath>::$f(*v))
        };
    }
    macro_rules! pred {
        ($f:ident) => {
            |t: &mut [f32]| {
                t.iter_mut()
                    .for_each(|v| *v = <f32 as FloatMath>::$f(*v) as u8 as f32)
            }
        };
    }
    float_ops!(op, m, pred)
}

fn int_invert(x: Data, dtype: Dtype) -> Result<Data> {
    macro_rules! inv {
        ($t:ty) => {
            map_unary::<$t, $t>(x, dtype, <$t as Bits>::not)?
        };
    }
    Ok(match x.dtype {
        Dtype::U8 => inv!(u8),
        Dtype::U16 => inv!(u16),
        Dtype::U32 => inv!(u32),
        Dtype::U64 => inv!(u64),
        Dtype::I8 => inv!(i8),
        Dtype::I16 => inv!(i16),
        Dtype::I32 => inv!(i32),
        Dtype::I64 => inv!(i64),
        Dtype::Bool => map_unary::<u8, u8>(x, dtype, |v| (v == 0) as u8)?,
        d => bail!(
            Dtype,
            "bitwise_invert: expected an integer or bool array, got {d}"
        ),
    })
}

/// Computes `op` elementwise over `x` (any strides) into a new (or donated) array of `dtype`.
pub fn eval(op: UnaryOp, x: Data, dtype: Dtype) -> Result<Data> {
    use UnaryOp::*;
    let in_dtype = x.dtype;
    match op {
        Abs => Ok(
            dispatch_all!(in_dtype, T => map_unary::<T, T>(x, dtype, <T as Arith>::abs)?,
            complex => return complex::unary(op, x, dtype)),
        ),
        Negative => Ok(
            dispatch_all!(in_dtype, T => map_unary::<T, T>(x, dtype, <T as Arith>::neg)?,
            complex => return complex::unary(op, x, dtype)),
        ),
        Sign => Ok(
            dispatch_all!(in_dtype, T => map_unary::<T, T>(x, dtype, <T as Arith>::sign)?,
            complex => return complex::unary(op, x, dtype)),
        ),
        LogicalNot => Ok(map_unary::<u8, u8>(x, dtype, |v| (v == 0) as u8)?),
        BitwiseInvert => int_invert(x, dtype),
        Square if !in_dtype.is_float() => Ok(dispatch_all!(in_dtype, T =>
            map_unary::<T, T>(x, dtype, |v| <T as Arith>::mul(v, v))?,
            complex => return complex::unary(op, x, dtype))),
        op => match in_dtype {
            Dtype::F32 => match f32_simd_contiguous(op, x, dtype) {
                Ok(out) => Ok(out),
                // strided: through f32 tiles, so the transcendental kernels still run
                // compiled for the CPU's vector and FMA units
                Err(x) if simd_tile_op(op).is_some() => {
                    tile_kernel(op, &x, dtype, (load_f32::<f32>, store_f32::<f32>))
                }
                Err(x) => float_kernel::<f32>(op, x, dtype),
            },
            Dtype::F64 => float_kernel::<f64>(op, x, dtype),
            Dtype::C64 => complex::unary(op, x, dtype),
            Dtype::F16 => tile_kernel(op, &x, dtype, (load_f32::<f16>, store_f32::<f16>)),
            Dtype::Bf16 => tile_kernel(op, &x, dtype, (load_f32::<bf16>, store_f32::<bf16>)),
            _ => bail!(
                Dtype,
                "{}: expected a floating point input, got {in_dtype}",
                op.name()
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::Buffer;

    /// The transcendental kernels give the same bits on every path: the contiguous SIMD loop
    /// (compiled for the CPU's vector and FMA units), the strided tile path, and the scalar
    /// function as this test crate compiles it (baseline target, FMA from the C library).
    #[test]
    fn transcendental_f32_kernels_agree_to_the_bit_contiguous_strided_and_scalar() {
        let (r, c) = (37usize, 129usize);
        let xs: Vec<f32> = (0..r * c)
            .map(|i| ((i as f32 * 0.618).sin() * 12.0) / (1.0 + (i % 7) as f32))
            .chain([
                0.0,
                -0.0,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NAN,
                1e-30,
                -40.0,
            ])
            .collect();
        let n = xs.len();
        type Scalar = fn(f32) -> f32;
        let scalar: [(UnaryOp, Scalar); 5] = [
            (UnaryOp::Tanh, super::super::fastmath::tanh_f32),
            (UnaryOp::Exp, super::super::fastmath::exp_f32),
            (UnaryOp::Expm1, super::super::fastmath::expm1_f32),
            (UnaryOp::Sigmoid, super::super::fastmath::sigmoid_f32),
            (UnaryOp::Erf, super::super::special::erf_f32),
        ];
        for (op, f) in scalar {
            let contiguous = Data::new(Buffer::from_slice(&xs), Dtype::F32, &[n]);
            let got = eval(op, contiguous, Dtype::F32).unwrap();
            let got = got.contiguous_slice::<f32>().unwrap();
            // the same values read through a stride of 2 (every other element of a wider buffer)
            let wide: Vec<f32> = xs.iter().flat_map(|&v| [v, 7.0]).collect();
            let mut strided = Data::new(Buffer::from_slice(&wide), Dtype::F32, &[n, 2]);
            strided.shape = vec![n];
            strided.strides = vec![2];
            let got_strided = eval(op, strided, Dtype::F32).unwrap();
            let got_strided = got_strided.contiguous_slice::<f32>().unwrap();
            for (i, &v) in xs.iter().enumerate() {
                let want = f(v);
                let same = |g: f32| g.to_bits() == want.to_bits() || (g.is_nan() && want.is_nan());
                assert!(same(got[i]), "{op:?}({v}): contiguous {} vs {want}", got[i]);
                assert!(
                    same(got_strided[i]),
                    "{op:?}({v}): strided {} vs {want}",
                    got_strided[i]
                );
            }
        }
    }
}
