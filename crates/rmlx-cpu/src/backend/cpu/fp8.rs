//! float8 e4m3 conversions (MLX's `ToFP8` / `FromFP8`, bit for bit): the element format of
//! mxfp8 weights and of nvfp4 scales.

use half::f16;

/// `x` (as f32) to e4m3: round half to even, saturating at ±448 (0x7E), NaN as MLX's bit
/// pattern gives it.
#[inline]
pub fn to_fp8(x: f32) -> u8 {
    const FP8_MAX: u32 = 543 << 21;
    const DENORM_MASK: u32 = 141 << 23;
    let mut bits = x.to_bits();
    let sign = bits & 0x8000_0000;
    bits ^= sign;
    let low = (f32::from_bits(bits) + f32::from_bits(DENORM_MASK)).to_bits();
    let result_low = low.wrapping_sub(DENORM_MASK) as u8;
    let mant_odd = (bits >> 20) & 1;
    let high = bits
        .wrapping_add((7u32.wrapping_sub(127) << 23).wrapping_add(0x7FFFF))
        .wrapping_add(mant_odd);
    let result_high = (high >> 20) as u8;
    let mut r = if bits < (121 << 23) {
        result_low
    } else {
        result_high
    };
    if bits >= FP8_MAX {
        r = 0x7E;
    }
    r | (sign >> 24) as u8
}

/// e4m3 to f32: the 7 magnitude bits placed as an f16 (`<< 7`), times 256, with the sign;
/// `0x7F`/`0xFF` are NaN with MLX 0.32.4's bit pattern (`0x7FF00000`, signed).
#[inline]
pub fn from_fp8(x: u8) -> f32 {
    if x & 0x7F == 0x7F {
        return f32::from_bits(((x as u32 & 0x80) << 24) | 0x7FF0_0000);
    }
    let v = f16::from_bits(((x & 127) as u16) << 7).to_f32() * 256.0;
    if x & 128 != 0 {
        -v
    } else {
        v
    }
}

/// e4m3 to f16 (MLX's result for a float16 output: NaN is `0x7D00`, signed).
#[inline]
pub fn from_fp8_f16(x: u8) -> f16 {
    if x & 0x7F == 0x7F {
        return f16::from_bits(((x as u16 & 0x80) << 8) | 0x7D00);
    }
    f16::from_f32(from_fp8(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_known_values() {
        // every finite e4m3 value survives a round trip
        for b in 0u8..=255 {
            if b & 0x7F == 0x7F {
                continue; // NaN
            }
            assert_eq!(to_fp8(from_fp8(b)), b, "byte {b:#x}");
        }
        assert_eq!(from_fp8(0x7E), 448.0);
        assert_eq!(to_fp8(1000.0), 0x7E);
        assert_eq!(to_fp8(-1000.0), 0xFE);
        assert_eq!(from_fp8(to_fp8(0.3)), 0.3125);
        assert_eq!(to_fp8(0.0), 0);
        // the smallest subnormal is 2^-9
        assert_eq!(from_fp8(1), 2f32.powi(-9));
    }
}
