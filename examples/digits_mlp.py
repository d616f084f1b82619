"""A multi-layer perceptron learns scikit-learn's 8x8 handwritten digits, each image read as 64 numbers.

    python examples/digits_mlp.py [--epochs 20] [--lr 0.003] [--batch-size 32] [--seed 0] [--plot]

64 pixels -> 128 hidden units (ReLU, dropout) -> 10 scores; cross-entropy and Adam.
About 97% test accuracy; examples/digits_cnn.py does better by looking at neighbouring pixels.
"""

import numpy as np
from common import digits, parse_args, plot_losses, progress

import neograd as ng
from neograd import nn
from neograd.utils.data import DataLoader, TensorDataset

args = parse_args("digits_mlp", epochs=20, lr=0.003, batch_size=32)
ng.manual_seed(args.seed)

x_train, x_test, y_train, y_test = digits(flat=True)  # rows of 64 pixels
train = TensorDataset(ng.tensor(x_train), ng.tensor(y_train))
loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)

model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 10))
loss_fn = nn.CrossEntropyLoss()
optimizer = ng.optim.Adam(model.parameters(), lr=args.lr)

losses = []
bar = progress(args.epochs)  # range(args.epochs), with a progress bar
for _ in bar:
    model.train()  # dropout on
    for images, labels in loader:
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    bar.set_postfix(loss=np.mean(losses[-len(loader) :]))

model.eval()  # dropout off
with ng.no_grad():
    predicted = model(ng.tensor(x_test)).argmax(dim=1).numpy()
print(f"test accuracy: {np.mean(predicted == y_test):.4f}")

if args.plot:
    plot_losses(losses, args.plot, "digits MLP: cross-entropy")
