//! One process (the test harness is not launched by mpirun): the size-1 group's semantics. The
//! multi-process checks run under `mpirun -np 2` from `crates/rmlx/tests/distributed.rs`.

use rmlx_core::{Array, Dtype};
use rmlx_distributed as dist;

#[test]
fn one_process_is_a_group_of_one() {
    let g = dist::init().unwrap();
    assert_eq!((g.rank(), g.size()), (0, 1));
    assert_eq!(dist::init().unwrap().size(), 1);
    assert_eq!(g.split(3, None).unwrap().size(), 1);
    assert_eq!(dist::is_available(), cfg!(feature = "mpi"));
    assert_eq!(dist::init_strict().is_ok(), cfg!(feature = "mpi"));
}

#[test]
fn collectives_of_one_process_return_their_input() {
    let x = Array::from_slice(&[1.5f32, -2.0, 3.0], &[3]).unwrap();
    for y in [
        dist::all_sum(&x, None).unwrap(),
        dist::all_max(&x, None).unwrap(),
        dist::all_min(&x, None).unwrap(),
        dist::all_gather(&x, None).unwrap(),
    ] {
        assert_eq!(y.to_vec::<f32>().unwrap(), vec![1.5, -2.0, 3.0]);
    }
    let g = rmlx_core::grad(
        |p: &[Array]| {
            Ok(vec![dist::all_sum(&p[0], None)?
                .square()?
                .sum(None, false)?])
        },
        &[0],
    )(std::slice::from_ref(&x))
    .unwrap();
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![3.0, -4.0, 6.0]);
}

#[test]
fn bad_calls_are_errors() {
    let x = Array::from_slice(&[1u8, 0], &[2])
        .unwrap()
        .astype(Dtype::Bool)
        .unwrap();
    assert!(dist::all_sum(&x, None).is_err());
    let y = Array::from_slice(&[1.0f32], &[1]).unwrap();
    let e = dist::send(&y, 1, None).unwrap_err().to_string();
    assert!(e.contains("group of one process"), "{e}");
    assert!(dist::recv(&[1], Dtype::F32, 0, None).is_err());
    assert!(dist::recv_like(&y, 1, None).is_err());
}
