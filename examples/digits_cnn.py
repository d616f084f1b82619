"""A small convolutional network learns scikit-learn's 8x8 handwritten digits (`hatch run demo`).

    python examples/digits_cnn.py [--epochs 15] [--lr 0.01] [--batch-size 32] [--seed 0] [--plot]
                                  [--device cuda]

Two 3x3 convolutions, each followed by ReLU and 2x2 max pooling, then one linear layer;
cross-entropy, Adam and a cosine learning-rate schedule. About 98% test accuracy.
With ``--device cuda`` (CuPy and an NVIDIA GPU) the same script trains on the GPU: the
model and each batch are moved there, nothing else changes.
"""

import numpy as np
from common import digits, parse_args, plot_losses, progress

import neograd as ng
from neograd import nn
from neograd.utils.data import DataLoader, TensorDataset

args = parse_args(
    "digits_cnn",
    epochs=15,
    lr=0.01,
    batch_size=32,
    extra=lambda p: p.add_argument("--device", default="cpu", help="cpu or cuda (cpu)"),
)
device = ng.device(args.device)
ng.manual_seed(args.seed)  # the initial weights and the order of the batches

x_train, x_test, y_train, y_test = digits(flat=False)  # images of shape (1, 8, 8)
train = TensorDataset(ng.tensor(x_train), ng.tensor(y_train))
loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)

model = nn.Sequential(
    nn.Conv2d(1, 16, kernel_size=3, padding=1),  # (N, 16, 8, 8)
    nn.ReLU(),
    nn.MaxPool2d(2),  # (N, 16, 4, 4)
    nn.Conv2d(16, 32, kernel_size=3, padding=1),  # (N, 32, 4, 4)
    nn.ReLU(),
    nn.MaxPool2d(2),  # (N, 32, 2, 2)
    nn.Flatten(),  # (N, 128)
    nn.Linear(128, 10),  # one score per digit
).to(device)
loss_fn = nn.CrossEntropyLoss()
optimizer = ng.optim.Adam(model.parameters(), lr=args.lr)
scheduler = ng.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

losses = []
bar = progress(args.epochs)  # range(args.epochs), with a progress bar
for _ in bar:
    model.train()
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    scheduler.step()
    bar.set_postfix(loss=np.mean(losses[-len(loader) :]))

model.eval()
with ng.no_grad():
    predicted = model(ng.tensor(x_test, device=device)).argmax(dim=1).cpu().numpy()
print(f"test accuracy: {np.mean(predicted == y_test):.4f}")

if args.plot:
    plot_losses(losses, args.plot, "digits CNN: cross-entropy")
