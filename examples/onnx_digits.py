"""Train the digits CNN, export it to ONNX, and run it in onnxruntime (`hatch run examples:onnx`).

    python examples/onnx_digits.py [--epochs 5] [--lr 0.01] [--batch-size 32] [--seed 0] [--out FILE]

The model and training loop are those of examples/digits_cnn.py (fewer epochs by default).
The exported file has a dynamic batch dim; onnxruntime classifies the whole test set in
one call. Prints both test accuracies and the largest difference between the two models'
outputs (logits).
"""

import numpy as np
from common import digits, parse_args, progress

import neograd as ng
from neograd import nn
from neograd.utils.data import DataLoader, TensorDataset

try:
    import onnxruntime as ort
except ModuleNotFoundError:
    raise SystemExit(
        "this example needs onnxruntime: pip install onnxruntime, or `hatch run examples:onnx`"
    ) from None


def extra(parser):
    parser.add_argument(
        "--out", default="digits_cnn.onnx", help="where to write the ONNX file (digits_cnn.onnx)"
    )


args = parse_args("onnx_digits", epochs=5, lr=0.01, batch_size=32, extra=extra)
ng.manual_seed(args.seed)

x_train, x_test, y_train, y_test = digits(flat=False)  # images of shape (1, 8, 8)
loader = DataLoader(
    TensorDataset(ng.tensor(x_train), ng.tensor(y_train)), batch_size=args.batch_size, shuffle=True
)

model = nn.Sequential(
    nn.Conv2d(1, 16, kernel_size=3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(16, 32, kernel_size=3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(128, 10),
)
loss_fn = nn.CrossEntropyLoss()
optimizer = ng.optim.Adam(model.parameters(), lr=args.lr)
scheduler = ng.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

bar = progress(args.epochs)
for _ in bar:
    model.train()
    losses = []
    for images, labels in loader:
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    scheduler.step()
    bar.set_postfix(loss=np.mean(losses))

# the batch dim is dynamic: the file runs on one image or on the whole test set
ng.onnx.export(
    model,
    ng.tensor(x_test[:1]),
    args.out,
    input_names=["image"],
    output_names=["logits"],
    dynamic_axes={"image": [0], "logits": [0]},
)

model.eval()
with ng.no_grad():
    ours = model(ng.tensor(x_test)).numpy()
session = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"])
(theirs,) = session.run(None, {"image": x_test})

print(f"exported to {args.out}")
print(f"neograd     test accuracy: {np.mean(ours.argmax(1) == y_test):.4f}")
print(f"onnxruntime test accuracy: {np.mean(theirs.argmax(1) == y_test):.4f}")
print(f"largest difference between the logits: {np.abs(ours - theirs).max():.2e}")
