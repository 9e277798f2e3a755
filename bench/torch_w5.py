"""W5 (issue 15) in PyTorch: gelu_approx(x * w + b) over a 4096x4096 f32 x and row w, b, 2 threads:
torch's fused gelu(approximate="tanh"), the composition MLX's nn.gelu_approx writes, and that
composition under torch.compile. Run with the peers' venv; compare with `workloads w5`."""
import torch, time
torch.set_num_threads(2)
x = torch.randn(4096, 4096); w = torch.randn(4096); b = torch.randn(4096)
def f(x):
    return torch.nn.functional.gelu(x * w + b, approximate="tanh")
def g(x):  # the same composition as MLX's gelu_approx
    h = x * w + b
    return 0.5 * h * (1 + torch.tanh(0.7978845608 * (h + 0.044715 * h**3)))
for name, fn in (("torch fused gelu(tanh)", f), ("torch composed", g)):
    for _ in range(3): fn(x)
    ts = []
    for _ in range(10):
        t = time.perf_counter(); y = fn(x); ts.append((time.perf_counter() - t) * 1e3)
    ts.sort(); print(name, "median %.2f ms" % ts[5])
cf = torch.compile(g)
for _ in range(3): cf(x)
ts=[]
for _ in range(10):
    t = time.perf_counter(); y = cf(x); ts.append((time.perf_counter() - t) * 1e3)
ts.sort(); print("torch.compile composed median %.2f ms" % ts[5])
