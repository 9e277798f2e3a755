"""Issue 18's fft target in numpy (pocketfft, one thread): np.fft.fft of 2^20 complex64, rfft of
2^20 float32 and fft2 of 1024 x 1024 complex64, milliseconds per transform (median of 20 after 3
warm-up calls), printed as one JSON line like `workloads fft`. numpy computes in complex128, as it
always does; MLX on the CPU and rmlx compute in complex64."""
import json, time
import numpy as np

rng = np.random.default_rng(0)
n = 1 << 20
z = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
re = rng.standard_normal(n).astype(np.float32)
z2 = z.reshape(1024, 1024)


def timed(f):
    for _ in range(3):
        f()
    ts = []
    for _ in range(20):
        t = time.perf_counter(); f(); ts.append((time.perf_counter() - t) * 1e3)
    return {"median": float(np.median(ts)), "min": float(min(ts))}


print(json.dumps({"peer": "numpy", "version": np.__version__, "n": n,
                  "c2c_ms": timed(lambda: np.fft.fft(z)), "r2c_ms": timed(lambda: np.fft.rfft(re)),
                  "c2c_2d_ms": timed(lambda: np.fft.fft2(z2))}))
