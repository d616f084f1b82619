"""The device API (torch's names): ng.device, Tensor.device/to/cuda/cpu, device= on factories, ng.cuda.

Without CuPy (the CI): no GPU, and asking for one says how to install it. With the fixture
``gpu`` (the fake CuPy, and the real one where there is a GPU): "cuda" tensors exist and
behave as torch's.
"""

from __future__ import annotations

import gc
import pickle
from typing import Any

import numpy as np
import pytest

import neograd as ng
from neograd.autograd import backend


# ---- ng.device ---------------------------------------------------------------------------------
def test_device_parses_as_torch() -> None:
    d = ng.device("cuda:1")
    assert (d.type, d.index, str(d), repr(d)) == ("cuda", 1, "cuda:1", "device(type='cuda', index=1)")
    assert ng.device("cuda", 0) == ng.device("cuda:0")
    assert ng.device("cuda") != ng.device("cuda:0")
    assert repr(ng.device("cuda")) == "device(type='cuda')"
    assert (ng.device("cpu").type, ng.device("cpu").index) == ("cpu", None)
    assert ng.device(ng.device("cuda:2")) == ng.device("cuda:2")
    assert ng.device("cuda:0") != "cuda:0"  # as torch: a device is not equal to its string
    assert len({ng.device("cpu"), ng.device("cpu"), ng.device("cuda:0")}) == 2
    assert pickle.loads(pickle.dumps(ng.device("cuda:3"))) == ng.device("cuda:3")


@pytest.mark.parametrize("bad", ["gpu", "cuda:-1", "cuda:x", "cpu0", ""])
def test_device_rejects_bad_strings(bad: str) -> None:
    with pytest.raises(RuntimeError, match="device"):
        ng.device(bad)


def test_device_rejects_bad_types() -> None:
    with pytest.raises(TypeError, match="device"):
        ng.device(0.5)
    with pytest.raises(RuntimeError, match="index"):
        ng.device("cuda:0", 1)


# ---- without CuPy --------------------------------------------------------------------------------
@pytest.fixture
def no_cupy(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> Any:
        raise ImportError("No module named 'cupy'")

    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_import_cupy", missing)
    monkeypatch.setattr(ng.cuda, "_generators", {})  # (GPU generators made by earlier tests on a GPU)


def test_without_cupy_there_is_no_gpu(no_cupy: None) -> None:
    assert ng.cuda.is_available() is False
    assert ng.cuda.device_count() == 0
    x = ng.ones(2)
    assert x.device == ng.device("cpu") and not x.is_cuda
    assert x.to("cpu") is x and x.cpu() is x


@pytest.mark.parametrize(
    "make",
    [
        lambda: ng.zeros(2, device="cuda"),
        lambda: ng.randn(2, device="cuda:0"),
        lambda: ng.tensor([1.0], device="cuda"),
        lambda: ng.ones(2).cuda(),
        lambda: ng.ones(2).to("cuda"),
        lambda: ng.cuda.synchronize(),
        lambda: ng.cuda.manual_seed(0),
    ],
)
def test_without_cupy_asking_for_a_gpu_says_how_to_install(no_cupy: None, make: Any) -> None:
    with pytest.raises(RuntimeError, match=r"CuPy.*pip install neograd-autograd\[cuda13\]"):
        make()


def test_manual_seed_does_not_import_cupy(no_cupy: None) -> None:
    ng.manual_seed(3)
    ng.cuda.manual_seed_all(3)
    assert backend._cupy is None


# ---- on a GPU (fake or real) -------------------------------------------------------------------------
def test_gpu_arrays_refuse_numpy(gpu: Any) -> None:
    x = ng.ones(3, device="cuda")
    assert isinstance(x.data, gpu.ndarray)
    with pytest.raises(TypeError):
        np.asarray(x.data)
    with pytest.raises(TypeError):
        x.data + np.ones(3)


def test_cuda_is_available_with_a_gpu(gpu: Any) -> None:
    assert ng.cuda.is_available() and ng.cuda.device_count() >= 1 and ng.cuda.current_device() == 0
    ng.cuda.synchronize()
    ng.cuda.synchronize("cuda:0")
    assert isinstance(ng.cuda.get_device_name(), str) and ng.cuda.get_device_name(0)
    x = ng.ones(1000, device="cuda")
    assert ng.cuda.memory_allocated() >= x.data.nbytes
    ng.cuda.empty_cache()
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        ng.zeros(2, device=f"cuda:{ng.cuda.device_count()}")


FACTORIES = {
    "tensor": lambda d: ng.tensor([[1.0, 2.0]], device=d),
    "zeros": lambda d: ng.zeros(2, 3, device=d),
    "ones": lambda d: ng.ones((2, 3), device=d),
    "empty": lambda d: ng.empty(2, device=d),
    "full": lambda d: ng.full((2,), 7, device=d),
    "zeros_like": lambda d: ng.zeros_like(ng.ones(2), device=d),
    "ones_like": lambda d: ng.ones_like(ng.ones(2), device=d),
    "empty_like": lambda d: ng.empty_like(ng.ones(2), device=d),
    "full_like": lambda d: ng.full_like(ng.ones(2), 3.0, device=d),
    "rand": lambda d: ng.rand(2, device=d),
    "randn": lambda d: ng.randn(2, 2, device=d),
    "rand_like": lambda d: ng.rand_like(ng.ones(2), device=d),
    "randn_like": lambda d: ng.randn_like(ng.ones(2), device=d),
    "randint": lambda d: ng.randint(0, 5, (3,), device=d),
    "randint_like": lambda d: ng.randint_like(ng.ones(2), 5, device=d),
    "randperm": lambda d: ng.randperm(4, device=d),
    "arange": lambda d: ng.arange(0, 5, 2, device=d),
    "linspace": lambda d: ng.linspace(0, 1, 5, device=d),
    "eye": lambda d: ng.eye(3, device=d),
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_factories_take_device(name: str, gpu: Any) -> None:
    cpu, gpu = FACTORIES[name]("cpu"), FACTORIES[name]("cuda")
    assert cpu.device == ng.device("cpu")
    assert gpu.device == ng.device("cuda:0") and gpu.is_cuda
    assert gpu.shape == cpu.shape and gpu.dtype == cpu.dtype
    if name not in ("empty", "empty_like") and not name.startswith("rand"):
        np.testing.assert_array_equal(gpu.cpu().numpy(), cpu.numpy())
    for d in (ng.device("cuda:0"), 0, "cuda:0"):  # every way of naming the device
        assert FACTORIES[name](d).device == ng.device("cuda:0")


def test_like_factories_keep_the_input_device(gpu: Any) -> None:
    x = ng.ones(2, 3, device="cuda")
    for f in (ng.zeros_like, ng.ones_like, ng.empty_like, ng.rand_like, ng.randn_like):
        assert f(x).device == x.device
    assert ng.full_like(x, 2.0).device == x.device
    assert ng.randint_like(x, 3).device == x.device


def test_random_on_the_gpu_is_seeded_by_manual_seed(gpu: Any) -> None:
    ng.manual_seed(5)
    a = ng.randn(4, device="cuda").cpu().numpy()
    ng.manual_seed(5)
    b = ng.randn(4, device="cuda").cpu().numpy()
    ng.cuda.manual_seed(5)
    c = ng.randn(4, device="cuda").cpu().numpy()
    ng.cuda.manual_seed_all(6)
    d = ng.randn(4, device="cuda").cpu().numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, d)
    assert ng.rand(100, device="cuda").cpu().numpy().min() >= 0


def test_to_forms(gpu: Any) -> None:
    x = ng.tensor([1.0, 2.0])
    g = x.to("cuda")
    assert g.device == ng.device("cuda:0") and x.device == ng.device("cpu")
    assert g.to("cuda") is g and g.to("cuda:0") is g and g.cuda() is g
    assert x.to(ng.float64).dtype == np.float64 and x.to(ng.float64).device == x.device
    assert x.to("cuda", ng.float64).dtype == np.float64
    assert x.to(device="cuda", dtype=ng.float64).device == ng.device("cuda:0")
    assert x.to(g).device == g.device and g.to(x).device == x.device
    assert x.to("cuda", copy=True) is not x
    assert x.to("cpu", copy=True) is not x
    assert x.to(0).device == ng.device("cuda:0")
    assert x.cuda(0).device == ng.device("cuda:0")
    np.testing.assert_array_equal(g.cpu().numpy(), [1.0, 2.0])
    with pytest.raises(TypeError, match="to"):
        x.to("cuda", ng.float64, True, False, True)


def test_gradients_flow_back_across_devices(gpu: Any) -> None:
    x = ng.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.cuda()
    assert not y.is_leaf and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.device == ng.device("cpu")
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])
    w = ng.ones(3, device="cuda", requires_grad=True)
    (w.cpu() * 3).sum().backward()
    assert w.grad.device == ng.device("cuda:0")
    np.testing.assert_array_equal(w.grad.cpu().numpy(), [3.0, 3.0, 3.0])


def test_gpu_tensor_to_numpy_raises_as_torch(gpu: Any) -> None:
    x = ng.ones(2, device="cuda")
    with pytest.raises(
        TypeError, match=r"can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu\(\)"
    ):
        x.numpy()
    with pytest.raises(TypeError, match=r"Tensor\.cpu"):
        np.asarray(x)
    np.testing.assert_array_equal(np.asarray(x.cpu()), [1.0, 1.0])
    assert x.tolist() == [1.0, 1.0] and ng.tensor(2.0, device="cuda").item() == 2.0


def test_mixing_devices_names_both(gpu: Any) -> None:
    a, b = ng.ones(2, device="cuda"), ng.ones(2)
    for op in (lambda: a + b, lambda: b * a, lambda: a @ b, lambda: ng.where(a > 0, a, b)):
        with pytest.raises(RuntimeError, match=r"same device.*(cuda:0 and cpu|cpu and cuda:0)"):
            op()
    assert (a + 1).device == a.device and (2.0 * a).device == a.device  # Python scalars are fine
    assert (a + np.float32(1)).device == a.device


def test_repr_names_the_device(gpu: Any) -> None:
    assert repr(ng.tensor([1.0, 2.0], device="cuda")) == "tensor([1., 2.], device='cuda:0')"
    assert repr(ng.ones(1, device="cuda", dtype=ng.float64)) == "tensor([1.], device='cuda:0', dtype=float64)"
    assert f"{ng.tensor(1.5, device='cuda'):.1f}" == "1.5"


def test_in_place_ops_and_copy_across_devices(gpu: Any) -> None:
    x = ng.zeros(3, device="cuda")
    x.copy_(ng.tensor([1.0, 2.0, 3.0]))  # as torch: copy_ copies across devices
    x += 1
    x.mul_(2)
    x[0] = 0.5
    x[ng.tensor([1])] = ng.tensor(9.0)
    x.clamp_(max=8.0)
    assert x.device == ng.device("cuda:0")
    np.testing.assert_array_equal(x.cpu().numpy(), [0.5, 8.0, 8.0])
    y = ng.zeros(3)
    y.copy_(x)
    np.testing.assert_array_equal(y.numpy(), [0.5, 8.0, 8.0])
    x.zero_()
    np.testing.assert_array_equal(x.cpu().numpy(), [0.0, 0.0, 0.0])


def test_tensor_of_a_gpu_tensor_stays_on_the_gpu(gpu: Any) -> None:
    x = ng.ones(2, device="cuda")
    assert ng.tensor(x).device == x.device
    assert ng.tensor(x, device="cpu").device == ng.device("cpu")
    assert ng.tensor(x.data).device == x.device  # a CuPy array


def test_backward_gradient_must_be_on_the_tensor_device(gpu: Any) -> None:
    x = ng.ones(2, device="cuda", requires_grad=True)
    y = x * 2
    y.backward([1.0, 2.0])  # lists and numbers go to the tensor's device
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [2.0, 4.0])
    with pytest.raises(RuntimeError, match="gradient 0 is on cpu but the tensor is on cuda:0"):
        (x * 2).backward(ng.ones(2))


def test_multinomial_and_bitwise_on_the_gpu(gpu: Any) -> None:
    p = ng.tensor([[0.0, 1.0, 3.0]], device="cuda")
    s = ng.multinomial(p, 5, replacement=True)
    assert s.device == p.device and s.shape == (1, 5) and 0 not in s.cpu().numpy()
    m = ng.tensor([True, False], device="cuda")
    assert (~m).device == m.device and (m & m).cpu().tolist() == [True, False]
    assert m.all().device == m.device and not m.all().item()


def test_auto_removal_frees_gpu_memory_during_backward(gpu: Any) -> None:
    """The memory pool's used bytes fall while backward runs, as the nodes release what they saved."""
    pool = gpu.get_default_memory_pool()
    gc.collect()
    base = pool.used_bytes()
    x = ng.randn(256, 256, device="cuda", requires_grad=True)
    h = x
    for _ in range(8):
        h = (h * 1.01).tanh()
    loss = h.sum()
    del h
    gc.collect()
    before = pool.used_bytes() - base
    seen = []
    x.register_hook(lambda g: seen.append(pool.used_bytes() - base))
    loss.backward()
    gc.collect()
    after = pool.used_bytes() - base
    # before: x and the 8 tanh outputs the nodes saved; after: only x and x.grad (and the loss)
    size, slack = 256 * 256 * 4, 4096
    assert before >= 9 * size
    assert after <= 2 * size + slack
    assert seen and seen[0] <= 3 * size + slack  # the others are freed by the time the last node runs


def test_changing_a_saved_gpu_array_in_place_is_caught(gpu: Any) -> None:
    x = ng.randn(3, device="cuda", requires_grad=True)
    y = x.exp()  # saves its output
    with ng.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()
    w = ng.randn(4, device="cuda", requires_grad=True)
    z = w.sigmoid()
    with ng.no_grad():
        z[1:3].mul_(2)  # a view of the saved output
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.sum().backward()


def test_detect_anomaly_on_the_gpu(gpu: Any) -> None:
    x = ng.tensor([0.0, 1.0], device="cuda", requires_grad=True)
    with ng.detect_anomaly(), pytest.raises(RuntimeError, match="nan"):
        (x.sqrt() * 0).sum().backward()


def test_a_cupy_array_becomes_a_gpu_tensor_before_neograd_imports_cupy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import fake_cupy

    array = fake_cupy.asarray(np.arange(3.0))  # made by "CuPy" itself, not through neograd
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_import_cupy", lambda: (fake_cupy, fake_cupy.cupyx))
    t = ng.tensor(array)
    assert t.device == ng.device("cuda:0") and t.cpu().tolist() == [0.0, 1.0, 2.0]
