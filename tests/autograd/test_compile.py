"""ng.compile: a captured and replayed training step gives bitwise the eager results.

Each test trains two copies of a model from the same start, one eagerly and one through
``ng.compile``, and compares every parameter (and buffer) bit for bit.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_circles

import neograd as ng
from neograd import nn

# ---- helpers ------------------------------------------------------------------------------------


def assert_same_state(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for name in sa:
        x, y = sa[name].numpy(), sb[name].numpy()
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), f"{name} differs"


def twins(build, seed: int = 0):
    """Two models with the same initial weights."""
    ng.manual_seed(seed)
    a = build()
    b = build()
    b.load_state_dict({k: v.clone() for k, v in a.state_dict().items()})
    return a, b


def train_step(model, optimizer, loss_fn, scheduler=None):
    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        return loss

    return step


def digits(n: int = 300):
    data = load_digits()
    x = (data.data[:n] / 16).astype(np.float32)
    return x, data.target[:n].astype(np.int64)


def batches(x, y, size, image=False):
    for i in range(0, len(x), size):
        xb = x[i : i + size]
        yield ng.from_numpy(xb.reshape(-1, 1, 8, 8) if image else xb), ng.from_numpy(y[i : i + size])


# ---- the seed task -------------------------------------------------------------------------------


def test_seed_task_100_steps_bitwise():
    x, y = make_circles(n_samples=1000, noise=0.05, random_state=100)
    x, y = ng.from_numpy(x[:750].astype(np.float32)), ng.from_numpy(y[:750, None].astype(np.float32))

    def build():
        return nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 1), nn.Sigmoid())

    eager, compiled = twins(build)
    opt_e, opt_c = (ng.optim.SGD(m.parameters(), lr=0.15) for m in (eager, compiled))
    step_e = train_step(eager, opt_e, nn.BCELoss())
    step_c = ng.compile(train_step(compiled, opt_c, nn.BCELoss()))
    for _ in range(100):
        loss_e = step_e(x, y)
        loss_c = step_c(x, y)
    assert isinstance(loss_c, ng.Tensor) and loss_c.grad_fn is None
    assert loss_c.item() == loss_e.item()
    assert_same_state(eager, compiled)
    assert len(step_c.programs) == 1


def test_closure_data_and_decorator_form():
    """Data read from the closure (not arguments) is read live, as parameters are."""
    ng.manual_seed(0)
    x, y = ng.randn(16, 3), ng.randn(16, 1)
    eager, compiled = twins(lambda: nn.Linear(3, 1))
    opt_e, opt_c = (ng.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (eager, compiled))

    def step_e():
        opt_e.zero_grad()
        loss = ((eager(x) - y) ** 2).mean()
        loss.backward()
        opt_e.step()
        return loss

    @ng.compile
    def step_c():
        opt_c.zero_grad()
        loss = ((compiled(x) - y) ** 2).mean()
        loss.backward()
        opt_c.step()
        return loss

    for _ in range(20):
        step_e(), step_c()
        x.data[...] = x.data[::-1]  # the data changes in place between steps
    assert_same_state(eager, compiled)


# ---- digits: MLP and CNN, guard misses -------------------------------------------------------------


def test_digits_mlp_and_new_batch_size_recaptures():
    x, y = digits(300)  # batches of 64: the last one has 44 rows

    def build():
        return nn.Sequential(nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))

    eager, compiled = twins(build)
    opt_e, opt_c = (ng.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (eager, compiled))
    step_e = train_step(eager, opt_e, nn.CrossEntropyLoss())
    step_c = ng.compile(train_step(compiled, opt_c, nn.CrossEntropyLoss()))
    steps = 0
    while steps < 100:
        for xb, yb in batches(x, y, 64):
            assert step_e(xb, yb).item() == step_c(xb, yb).item()
            steps += 1
    assert_same_state(eager, compiled)
    assert len(step_c.programs) == 2  # one per batch size


def test_digits_cnn():
    x, y = digits(128)

    def build():
        return nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10)
        )

    eager, compiled = twins(build)
    opt_e, opt_c = (ng.optim.SGD(m.parameters(), lr=0.05) for m in (eager, compiled))
    step_e = train_step(eager, opt_e, nn.CrossEntropyLoss())
    step_c = ng.compile(train_step(compiled, opt_c, nn.CrossEntropyLoss()))
    for _ in range(25):
        for xb, yb in batches(x, y, 32, image=True):
            step_e(xb, yb), step_c(xb, yb)
    assert_same_state(eager, compiled)


def test_tiny_gpt():
    """The tiny GPT of benchmarks/bench_gpt.py (attention, LayerNorm, GELU, tied embeddings, AdamW)."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
    try:
        import bench_gpt
    finally:
        sys.path.pop(0)
    data = bench_gpt.make_data()

    def build():
        model = bench_gpt.build_gpt(ng)
        model.load_state_dict({k: ng.from_numpy(v.copy()) for k, v in data.items() if "." in k})
        return model

    eager, compiled = build(), build()
    opts = [ng.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.1) for m in (eager, compiled)]

    def make(model, optimizer):
        def step(idx, targets):
            optimizer.zero_grad()
            loss = model(idx, targets)
            loss.backward()
            optimizer.step()
            return loss

        return step

    step_e, step_c = make(eager, opts[0]), ng.compile(make(compiled, opts[1]))
    idx, targets = ng.from_numpy(data["idx"]), ng.from_numpy(data["targets"])
    for _ in range(5):
        assert step_e(idx, targets).item() == step_c(idx, targets).item()
    assert_same_state(eager, compiled)


# ---- randomness, train/eval, schedulers ---------------------------------------------------------------


def test_dropout_batchnorm_train_and_eval_switches():
    x, y = digits(192)

    def build():
        return nn.Sequential(
            nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 10)
        )

    eager, compiled = twins(build)
    opt_e, opt_c = (ng.optim.SGD(m.parameters(), lr=0.1) for m in (eager, compiled))
    step_e = train_step(eager, opt_e, nn.CrossEntropyLoss())
    step_c = ng.compile(train_step(compiled, opt_c, nn.CrossEntropyLoss()))

    def evaluate(model):
        with ng.no_grad():
            return model(ng.from_numpy(x[:64]))

    evaluate_c = ng.compile(evaluate)
    for epoch in range(34):
        for model in (eager, compiled):
            model.train()
        for xb, yb in batches(x, y, 64):
            ng.manual_seed(epoch)
            step_e(xb, yb)
            ng.manual_seed(epoch)
            step_c(xb, yb)
        for model in (eager, compiled):
            model.eval()
        out_e, out_c = evaluate(eager), evaluate_c(compiled)
        assert out_e.numpy().tobytes() == out_c.numpy().tobytes()
    assert_same_state(eager, compiled)  # running statistics included
    assert len(step_c.programs) == 1 and len(evaluate_c.programs) == 1


def test_randn_inside_the_step_is_drawn_afresh():
    w_e, w_c = ng.zeros(4, requires_grad=True), ng.zeros(4, requires_grad=True)

    def make(w):
        def step():
            noise = ng.randn(4) * 0.1
            loss = ((w + noise) ** 2).sum()
            loss.backward()
            with ng.no_grad():
                w.data -= 0.1 * w.grad.data
            w.grad = None
            return noise

        return step

    step_e, step_c = make(w_e), ng.compile(make(w_c))
    ng.manual_seed(3)
    noises_e = [step_e().numpy().copy() for _ in range(5)]
    ng.manual_seed(3)
    noises_c = [step_c().numpy().copy() for _ in range(5)]
    assert all(a.tobytes() == b.tobytes() for a, b in zip(noises_e, noises_c))
    assert len({a.tobytes() for a in noises_c}) == 5
    assert w_e.data.tobytes() == w_c.data.tobytes()


@pytest.mark.parametrize("scheduler_inside", [False, True])
def test_adam_with_a_scheduler(scheduler_inside):
    x, y = digits(128)

    def build():
        return nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))

    eager, compiled = twins(build)
    opts = [ng.optim.Adam(m.parameters(), lr=0.01, weight_decay=1e-4) for m in (eager, compiled)]
    scheds = [ng.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5) for o in opts]
    inside = scheds if scheduler_inside else [None, None]
    step_e = train_step(eager, opts[0], nn.CrossEntropyLoss(), inside[0])
    step_c = ng.compile(train_step(compiled, opts[1], nn.CrossEntropyLoss(), inside[1]))
    for _ in range(25):
        for xb, yb in batches(x, y, 32):
            step_e(xb, yb), step_c(xb, yb)
        if not scheduler_inside:
            for s in scheds:
                s.step()
    assert opts[0].param_groups[0]["lr"] == opts[1].param_groups[0]["lr"] < 0.01
    assert_same_state(eager, compiled)


# ---- what cannot be captured ---------------------------------------------------------------------------


def test_item_inside_the_step_runs_eagerly_with_a_warning():
    w = ng.ones(3, requires_grad=True)
    seen = []

    @ng.compile
    def step():
        loss = (w * 2).sum()
        seen.append(loss.item())
        return loss

    with pytest.warns(ng.CompileWarning, match="item"):
        step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step()
    assert len(seen) == 2  # the function ran eagerly both times

    strict = ng.compile(step.fn, check=True)
    with pytest.raises(ng.CompileError, match="item"):
        strict()


def test_branch_on_a_tensor_value_is_a_guard():
    w = ng.ones(3, requires_grad=True)

    @ng.compile
    def step(x):
        if (x.data > 0).all():
            return (x * w).sum()
        return (x - w).sum()

    assert step(ng.ones(3)).item() == 3
    assert step(ng.full((3,), 2.0)).item() == 6
    with pytest.raises(ng.CompileError, match="branched"):
        step(-ng.ones(3))


def test_check_catches_a_branch_it_cannot_see():
    model = nn.Linear(3, 1)

    def step(x):
        # NOTE: np.asarray hands the recorder a plain copy of the values: the branch is invisible
        if np.asarray(x.data).sum() > 0:
            loss = (model(x) ** 2).mean()
        else:
            loss = model(x).abs().mean()
        loss.backward()
        return loss

    positive, negative = ng.ones(4, 3), -ng.ones(4, 3)
    unchecked = ng.compile(step)
    unchecked(positive)
    unchecked(negative)  # silently replays the other branch: what check=True is for

    checked = ng.compile(step, check=True)
    checked(positive)
    checked(positive)
    with pytest.raises(ng.CompileError, match=r"kernel \d+ .*Abs|kernel \d+ differs"):
        checked(negative)


def test_grad_mode_is_a_guard_and_cache_is_bounded():
    f = ng.compile(lambda x: (x * 2).sum())
    f(ng.ones(2))
    with ng.no_grad():
        f(ng.ones(2))
    assert len(f.programs) == 2
    for n in range(3, 3 + ng.autograd.compile.__globals__["CACHE_SIZE"] + 2):
        f(ng.ones(n))
    assert len(f.programs) == ng.autograd.compile.__globals__["CACHE_SIZE"]


def test_replay_peak_memory_is_no_more_than_eager():
    import tracemalloc

    x, y = digits(256)
    xb, yb = ng.from_numpy(x), ng.from_numpy(y)

    def build():
        return nn.Sequential(
            nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
        )

    eager, compiled = twins(build)
    opt_e, opt_c = (ng.optim.SGD(m.parameters(), lr=0.01) for m in (eager, compiled))
    step_e = train_step(eager, opt_e, nn.CrossEntropyLoss())
    step_c = ng.compile(train_step(compiled, opt_c, nn.CrossEntropyLoss()))
    step_e(xb, yb), step_c(xb, yb)  # the capture, and the eager warm-up

    def peak(step):
        tracemalloc.start()
        step(xb, yb)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    # NOTE: the replay's buffers were allocated at the capture, so they are counted here; to
    # within the replay's own lists (a slot table, a ctx table: some hundred bytes), the
    # arrays, about 1 MB here, peak no higher than in eager mode
    (program,) = step_c.programs
    assert program.buffer_bytes > 0
    assert peak(step_c) + program.buffer_bytes <= peak(step_e) + 2048


def test_train_eval_mode_and_replaced_parameter_are_guards():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    forward = ng.compile(lambda x: model(x))
    x = ng.ones(2, 4)
    ng.manual_seed(0)
    forward(x)
    model.eval()
    assert forward(x).numpy().tobytes() == model(x).detach().numpy().tobytes()
    assert len(forward.programs) == 2
    model[0].weight = nn.Parameter(ng.zeros(4, 4))  # a new parameter: captured again
    assert forward(x).numpy().tobytes() == model(x).detach().numpy().tobytes()
    assert len(forward.programs) == 3


def test_a_compiled_function_inside_another_is_part_of_its_recording():
    w = ng.ones(3, requires_grad=True)
    inner = ng.compile(lambda x: x * w)
    inner(ng.ones(3))  # inner has its own recording

    @ng.compile
    def outer(x):
        loss = inner(x).sum()
        loss.backward()
        return loss

    for _ in range(3):
        outer(ng.full((3,), 2.0))
    assert w.grad.numpy().tolist() == [6.0, 6.0, 6.0]


def test_numpy_array_arguments_are_inputs_not_constants():
    w = ng.ones(3, requires_grad=True)
    f = ng.compile(lambda a: (ng.from_numpy(a) * w).sum())
    assert f(np.ones(3, np.float32)).item() == 3
    assert f(np.full(3, 2, np.float32)).item() == 6
    assert len(f.programs) == 1


class _ScaleBy(ng.autograd.Function):
    """x * s, with s given as a keyword (a tensor in eager mode, its array in the replay)."""

    @staticmethod
    def forward(ctx, x, *, s):
        ctx.s = s.data if isinstance(s, ng.Tensor) else s
        return x * ctx.s

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.s


def test_a_tensor_of_the_step_given_to_a_function_as_a_keyword():
    w = ng.ones(3, requires_grad=True)

    @ng.compile
    def step(x):
        w.grad = None
        (_ScaleBy.apply(w, s=x * 2.0)).sum().backward()
        return w.grad

    for value in (1.0, 2.0, 3.0):  # the keyword's slot is read at each replay, not baked in
        assert step(ng.full((3,), value)).numpy().tolist() == [2 * value] * 3
    assert len(step.programs) == 1


def test_every_guard_holds_after_repeated_replays():
    # the recording replayed last is tried first and checks its guards itself: each change
    # below, made after a few replays, must still reach a recording made for it
    model = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5))
    w = ng.ones(2, requires_grad=True)

    def f(x, scale, arr, opts):
        loss = ((model(x) * w).sum() * scale + float(arr.shape[0])) * opts["scale"]
        if loss.requires_grad:  # (a Python flag, fixed for given guards: not a tensor's value)
            loss.backward()
        return loss

    def run(fn, args):
        ng.manual_seed(0)
        for t in (w, args[0]):
            t.grad = None
        loss = fn(*args).detach().numpy()
        grads = [None if t.grad is None else t.grad.numpy().tobytes() for t in (w, args[0])]
        return loss.dtype, loss.tobytes(), grads

    step = ng.compile(f)

    def same(*args) -> None:
        for _ in range(3):  # a capture (or a replay of an older recording), then replays
            assert run(step, args) == run(f, args), args

    x, arr, options = ng.ones(4, 3), np.ones(2, np.float32), {"scale": 2.0}
    # each call differs from the one before it in one thing
    same(x, 2.0, arr, options)
    same(x, 3.0, arr, options)  # another value
    same(x, 3, arr, options)  # another type, equal value
    same(ng.ones(5, 3), 3, arr, options)  # another shape
    same(ng.ones(5, 3, dtype=ng.float64), 3, arr, options)  # another dtype
    same(ng.ones(5, 3, dtype=ng.float64, requires_grad=True), 3, arr, options)  # requires_grad
    same(x, 3.0, arr, options)
    same(x, 3.0, np.ones(3, np.float32), options)  # an array argument's shape
    same(x, 3.0, arr, options)
    other = {"scale": 5.0}
    same(x, 3.0, arr, other)  # an unhashable argument: by identity
    model.eval()
    same(x, 3.0, arr, other)  # train/eval
    model[0].bias = nn.Parameter(ng.full((2,), 7.0))  # a replaced parameter
    same(x, 3.0, arr, other)
    w.data = np.ones(2, np.float64)  # a tensor read live, with an array of another dtype
    same(x, 3.0, arr, other)
    w.data = np.ones(3, np.float64)  # ... or shape (then model(x) * w cannot broadcast, eagerly too)
    with pytest.raises(ValueError, match="broadcast"):
        step(x, 3.0, arr, other)
    w.data = np.ones(2, np.float64)
    same(x, 3.0, arr, other)
    with ng.no_grad():  # grad mode
        same(x, 3.0, arr, other)


# ---- lowering: ops replayed as the NumPy calls inside them, on preallocated buffers -------------


def _deep_mlp():
    return nn.Sequential(
        nn.Linear(64, 32),
        nn.Tanh(),
        nn.Linear(32, 32),
        nn.Sigmoid(),
        nn.Linear(32, 32),
        nn.ReLU(),
        nn.Linear(32, 10),
    )


def test_ops_replay_as_their_numpy_calls_on_shared_buffers():
    x, y = digits(64)
    xb, yb = ng.from_numpy(x), ng.from_numpy(y)
    eager, compiled = twins(_deep_mlp)
    opt_e, opt_c = (ng.optim.SGD(m.parameters(), lr=0.05) for m in (eager, compiled))
    step_e = train_step(eager, opt_e, nn.CrossEntropyLoss())
    step_c = ng.compile(train_step(compiled, opt_c, nn.CrossEntropyLoss()))
    for _ in range(5):
        assert step_c(xb, yb).numpy().tobytes() == step_e(xb, yb).detach().numpy().tobytes()
    assert_same_state(eager, compiled)
    (program,) = step_c.programs
    labels = [step.label for step in program.steps]
    # the layers and activations are NumPy calls now; the loss, which tests its logits' range
    # (a value read into Python), stays one kernel, called on a ctx
    for op in ("Linear", "Tanh", "Sigmoid", "Relu"):
        assert f"{op}.forward" not in labels and f"{op}.backward" not in labels, op
    assert labels.count("IndexCrossEntropy.forward") == labels.count("IndexCrossEntropy.backward") == 1
    assert "np.tanh.__call__" in labels and "np.dot" in labels
    # elementwise results are written into buffers planned at the capture; arrays whose
    # lifetimes do not overlap share storage
    storage = {id(b.base): b.base for b in program.buffers.values()}
    assert len(program.buffers) > len(storage) >= 1
    assert program.buffer_bytes == sum(block.nbytes for block in storage.values())
    assert all(f"BF{k}" in program.source for k in program.buffers)


class _Hidden(ng.autograd.Function):
    """2x, as x plus a copy of x the tracer cannot see (out[...] = x into a fresh np.empty)."""

    @staticmethod
    def forward(ctx, x):
        copy = np.empty(x.shape, x.dtype)
        copy[...] = x
        return x + copy

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * 2


class _Branchy(ng.autograd.Function):
    """A value branch inside an op: 2x where all inputs are small, else 3x."""

    @staticmethod
    def forward(ctx, x):
        ctx.k = 2.0 if (np.abs(x) < 100).all() else 3.0
        return x * ctx.k

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.k


@pytest.mark.parametrize("op", [_Hidden, _Branchy])
def test_an_op_the_tracer_cannot_follow_stays_one_kernel(op):
    w = ng.ones(3, requires_grad=True)

    def f(x):
        w.grad = None
        loss = op.apply(x * w).sum()
        loss.backward()
        return loss

    step = ng.compile(f)
    # (1000 takes _Branchy's other branch: no guard, no error; and verify, which tries values
    # near those of the capture, could not have seen that branch)
    for value in (1.0, 2.0, 1000.0, 3.0):
        x = ng.full((3,), value)
        got, got_grad = step(x).item(), w.grad.numpy().tolist()
        assert (got, got_grad) == (f(x).item(), w.grad.numpy().tolist())
    (program,) = step.programs
    labels = [s.label for s in program.steps]
    assert f"{op.__name__}.forward" in labels and f"{op.__name__}.backward" in labels
    assert "np.multiply.__call__" in labels  # x * w, around it, still lowered
    assert not any(s.kind == "guard" for s in program.steps)


class _PositiveSum(ng.autograd.Function):
    """2 x the sum of the positive entries, through x[x > 0]: an array of a size set by values."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x[x > 0] * 2.0).sum()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 2.0 * (x > 0)


def test_arrays_whose_shape_depends_on_values():
    n = 200
    w = ng.ones(n, requires_grad=True)

    def masked(x, mask):  # in the step itself: it runs eagerly, and says why
        return ((x * w)[mask] * 2.0 + 1.0).sum()

    def inside(x, mask):  # inside an op: its result's shape is fixed; x[x > 0] inside gets no buffer
        w.grad = None
        loss = _PositiveSum.apply(x * w)
        loss.backward()
        return loss

    def forward_only(x, mask):  # (x[x > 0] * 2.0 is then at the step's memory peak)
        return _PositiveSum.apply(x)

    x = ng.arange(-n // 2, n // 2, dtype=ng.float32)
    for f in (masked, inside, forward_only):
        step = ng.compile(f)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for every in (2, 3, 7):  # another number selected each time
                mask = ng.tensor(np.arange(n) % every == 0)
                shift = float(10 * every)
                assert step(x + shift, mask).item() == f(x + shift, mask).item()
                if f is inside:
                    got = w.grad.numpy().tobytes()
                    f(x + shift, mask)
                    assert got == w.grad.numpy().tobytes()
        (program,) = step.programs
        if f is masked:
            assert "shape that depends on values" in program.eager_reason
            assert any(issubclass(c.category, ng.CompileWarning) for c in caught)
        else:
            assert program.eager_reason is None and not caught
            assert "_PositiveSum.forward" not in [s.label for s in program.steps]  # lowered


_ZOO = {  # name: (model, a batch, the loss of the model's output)
    "lstm": (lambda: nn.LSTM(4, 6, batch_first=True), lambda: ng.randn(3, 5, 4), lambda o: o[0].abs().mean()),
    "gru": (lambda: nn.GRU(4, 6, num_layers=2), lambda: ng.randn(5, 3, 4), lambda o: o[0].pow(2).mean()),
    "transformer": (
        lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1),
        lambda: ng.randn(5, 3, 8),
        lambda o: o.pow(2).mean(),
    ),
    "conv1d_batchnorm_gelu": (
        lambda: nn.Sequential(
            nn.Conv1d(3, 4, 3), nn.BatchNorm1d(4), nn.GELU(), nn.Flatten(), nn.Linear(24, 2)
        ),
        lambda: ng.randn(4, 3, 8),
        lambda o: nn.functional.cross_entropy(o, ng.tensor(np.array([0, 1, 1, 0]))),
    ),
    "layernorm_silu_nll": (
        lambda: nn.Sequential(nn.Linear(5, 7), nn.LayerNorm(7), nn.SiLU(), nn.Linear(7, 3), nn.LogSoftmax(1)),
        lambda: ng.randn(6, 5),
        lambda o: nn.functional.nll_loss(o, ng.tensor(np.array([0, 1, 2, 0, 1, 2]))),
    ),
    "embedding_bce_logits": (
        lambda: nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 1)),
        lambda: ng.tensor(np.array([[1, 2, 3], [3, 3, 9]])),
        lambda o: nn.functional.binary_cross_entropy_with_logits(o, ng.ones(2, 1)),
    ),
    "leaky_elu_tanh_mse": (
        lambda: nn.Sequential(
            nn.Linear(3, 5), nn.LeakyReLU(0.1), nn.Linear(5, 5), nn.ELU(), nn.Linear(5, 2), nn.Tanh()
        ),
        lambda: ng.randn(4, 3),
        lambda o: nn.functional.mse_loss(o, ng.zeros(4, 2)),
    ),
    "conv2d_avgpool_softmax": (
        lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.AvgPool2d(2), nn.Flatten(), nn.Softmax(1)),
        lambda: ng.randn(2, 1, 4, 4),
        lambda o: (o * o).sum(),
    ),
    "dropout_label_smoothing": (
        lambda: nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.3), nn.ReLU(), nn.Linear(8, 4)),
        lambda: ng.randn(5, 6),
        lambda o: nn.functional.cross_entropy(o, ng.tensor(np.array([0, 1, 2, 3, 0])), label_smoothing=0.1),
    ),
}


@pytest.mark.parametrize("name", sorted(_ZOO))
def test_layers_lowered_or_whole_train_bitwise_as_eager(name):
    # each op lowered into its NumPy calls where it can be, whole where not: Adam on four
    # batches in turn, with dropout where the model has it, bit for bit as eager mode
    build, batch, loss_of = _ZOO[name]
    eager, compiled = twins(build)
    ng.manual_seed(1)
    xs = [batch() for _ in range(4)]
    steps = []
    for model in (eager, compiled):
        optimizer = ng.optim.Adam(model.parameters(), lr=0.01)

        def step(x, model=model, optimizer=optimizer):
            optimizer.zero_grad()
            loss = loss_of(model(x))
            loss.backward()
            optimizer.step()
            return loss

        steps.append(step)
    step_e, step_c = steps[0], ng.compile(steps[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no CompileWarning: nothing runs eagerly)
        for i in range(6):
            ng.manual_seed(100 + i)
            expected = step_e(xs[i % 4]).detach().numpy()
            ng.manual_seed(100 + i)
            assert step_c(xs[i % 4]).numpy().tobytes() == expected.tobytes(), i
    assert_same_state(eager, compiled)
    assert len(step_c.programs) == 1


def test_gradient_clipping_inside_the_step():
    # clip_grad_norm_ reads each .grad (a new tensor at every step), computes a coefficient
    # with NumPy and scales the .grad in place: each replay must read, and scale, that step's
    eager, compiled = twins(lambda: nn.Linear(4, 3))
    steps = []
    for model in (eager, compiled):
        optimizer = ng.optim.SGD(model.parameters(), lr=0.5)

        def step(x, model=model, optimizer=optimizer):
            optimizer.zero_grad()
            loss = (model(x) ** 2).mean()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            model.bias.grad.mul_(0.5)
            optimizer.step()
            return loss

        steps.append(step)
    step_e, step_c = steps[0], ng.compile(steps[1])
    for i in range(5):
        x = ng.randn(8, 4) * (i + 1)  # growing norms: clipped by another factor each time
        assert step_c(x).item() == step_e(x).item()
        for p, q in zip(eager.parameters(), compiled.parameters()):
            assert p.grad.numpy().tobytes() == q.grad.numpy().tobytes()
    assert_same_state(eager, compiled)


@pytest.mark.parametrize("form", ["assign", "isub_data", "isub", "sub_"])
def test_manual_parameter_updates_under_no_grad(form):
    # the in-place forms need no_grad (a leaf that requires grad): the replay keeps it
    def run(compiled):
        ng.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))

        def step(x, y):
            for p in model.parameters():
                p.grad = None
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            with ng.no_grad():
                for p in model.parameters():
                    if form == "assign":
                        p.data = p.data - 0.1 * p.grad.data
                    elif form == "isub_data":
                        p.data -= 0.1 * p.grad.data
                    elif form == "isub":
                        p -= 0.1 * p.grad
                    else:
                        p.sub_(p.grad * 0.1)
            return loss

        fn = ng.compile(step) if compiled else step
        ng.manual_seed(1)
        data = [(ng.randn(5, 3), ng.randn(5, 1)) for _ in range(3)]
        losses = [fn(*data[i % 3]).item() for i in range(6)]
        return losses, [p.detach().numpy().tobytes() for p in model.parameters()]

    assert run(True) == run(False)


def test_a_lowered_replay_makes_no_graph_nodes():
    # every op of this step lowers: its replay calls no Function (no ctx, no node), only NumPy
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    optimizer = ng.optim.SGD(model.parameters(), lr=0.1)
    step = ng.compile(train_step(model, optimizer, nn.MSELoss()))
    x, y = ng.randn(16, 4), ng.randn(16, 1)
    step(x, y)
    made = []
    ng.autograd.Function.__init__ = lambda self: made.append(type(self).__name__)
    try:
        step(x, y)
    finally:
        del ng.autograd.Function.__init__
    assert made == []
    (program,) = step.programs
    assert not any(s.kind in ("forward", "nodebw", "backward") for s in program.steps)
