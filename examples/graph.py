"""A picture of the graph that autograd records: the original README's model and loss on a few circles.

    python examples/graph.py [--out seed_graph]

Writes seed_graph.dot (Graphviz's text format, readable as it is) and, when Graphviz's
`dot` program is installed, seed_graph.svg. Boxes are operations (with the shape and dtype
they produced), ellipses are the parameters and inputs; backward walks the arrows in reverse.
"""

import argparse
import shutil

from sklearn.datasets import make_circles

import neograd as ng
from neograd.nn.loss import BCE

parser = argparse.ArgumentParser(prog="graph.py")
parser.add_argument("--out", default="seed_graph", help="file name without extension (seed_graph)")
args = parser.parse_args()


class NN(ng.nn.Model):  # the original README's model
    def __init__(self):
        super().__init__(self)
        self.stack = ng.nn.Sequential(ng.nn.Linear(2, 10), ng.nn.ReLU(), ng.nn.Linear(10, 1), ng.nn.Sigmoid())

    def forward(self, inputs):
        return self.stack(inputs)


X, y = make_circles(n_samples=8, noise=0.05, random_state=100)
model = NN()
inputs, targets = ng.tensor(X, dtype=ng.float32), ng.tensor(y.reshape(8, 1), dtype=ng.float32)
loss = BCE()(model(inputs), targets)  # batch-first: one row per example

names = dict(model.named_parameters())  # label the parameters' nodes with their names
with open(f"{args.out}.dot", "w") as f:
    f.write(ng.autograd.to_dot(loss, names))
print(f"wrote {args.out}.dot")

if shutil.which("dot"):
    print(f"wrote {ng.autograd.draw(loss, f'{args.out}.svg', names)}")
else:
    print("Graphviz's dot is not installed (apt install graphviz, brew install graphviz, ...): no SVG;")
    print(f"paste {args.out}.dot into any Graphviz viewer instead")
