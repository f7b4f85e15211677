"""Full train steps (forward, cross-entropy, backward, SGD-momentum step) and inference of nnrun's reference
models against the same architectures in PyTorch, measured in the same run.

Run by hand on a quiet machine: ``python benchmarks/train_step.py [--models mlp,lenet] [--rounds 5]``.
Ratio = nnrun throughput / PyTorch throughput (above 1 means nnrun is faster); float32, synthetic data.
Each library runs in its own worker process, set up as a training run does (nnrun's worker tunes the
process's malloc, as nnrun's Trainer does), and the two take turns: one round of one, then of the other,
while the idle one waits.

Then peak memory (Linux only; ``--no-memory`` skips it): each library, model and step kind runs in its own
fresh process, which builds the model, inputs and optimizer, resets the kernel's resident-set high-water mark
and runs two steps; the peak is that high-water mark minus the resident set just before the steps, so it
counts activations, saved arrays, gradients, optimizer state and allocator slack, not the libraries or the
model's parameters.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import statistics
import subprocess
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from _turns import LIBRARIES, Turns, load, set_thread_variables

# (input shape without batch, batch size, default number of timed steps per round)
MODELS = {
    "mlp": ((1, 28, 28), 128, 50),
    "lenet": ((1, 28, 28), 128, 20),
    "resnet20": ((3, 32, 32), 128, 2),
    "resnet18": ((3, 32, 32), 32, 2),
}


def torch_model(torch: ModuleType, name: str) -> Any:
    """The PyTorch twin of ``nnrun.models``' model ``name`` (same layers, same order)."""
    nn = torch.nn

    class BasicBlock(nn.Module):
        def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or inplanes != planes:
                self.downsample = nn.Sequential(
                    nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
                )

        def forward(self, x: Any) -> Any:
            out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    def resnet(blocks: list[int], widths: list[int], num_classes: int) -> Any:
        layers: list[Any] = [nn.Conv2d(3, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0])]
        layers.append(nn.ReLU(inplace=True))
        inplanes = widths[0]
        for i, (count, width) in enumerate(zip(blocks, widths)):
            for j in range(count):
                layers.append(BasicBlock(inplanes, width, 2 if i > 0 and j == 0 else 1))
                inplanes = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(inplanes, num_classes)]
        return nn.Sequential(*layers)

    if name == "mlp":
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 256),
            nn.ReLU(True),
            nn.Linear(256, 256),
            nn.ReLU(True),
            nn.Linear(256, 10),
        )
    if name == "lenet":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(True), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(True), nn.Linear(120, 84), nn.ReLU(True), nn.Linear(84, 10),
        )  # fmt: skip
    if name == "resnet20":
        return resnet([3, 3, 3], [16, 32, 64], 10)
    return resnet([2, 2, 2, 2], [64, 128, 256, 512], 10)


def nnrun_model(name: str) -> Any:
    from nnrun import models

    return {
        "mlp": lambda: models.MLP(),
        "lenet": lambda: models.LeNet5(),
        "resnet20": lambda: models.resnet20(),
        "resnet18": lambda: models.resnet18(num_classes=10, stem="cifar"),
    }[name]()


def steps(
    lib: ModuleType, model: Any, shape: tuple[int, ...], batch: int, device: str = "cpu"
) -> tuple[Callable[[], None], ...]:
    """A train-step closure and an inference closure for ``model`` written against ``lib``'s API."""
    x = lib.randn(batch, *shape, device=device)
    y = lib.randint(0, 10, (batch,), device=device)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = lib.nn.CrossEntropyLoss()

    def train() -> None:
        model.train()
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    def infer() -> None:
        model.eval()
        with lib.no_grad():
            model(x)

    return train, infer


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def build(lib: ModuleType, name: str) -> tuple[Callable[[], None], ...]:
    shape, batch, _ = MODELS[name]
    model = nnrun_model(name) if lib.__name__ == "nnrun" else torch_model(lib, name)
    return steps(lib, model, shape, batch)


def build_step(lib: ModuleType, key: str) -> Callable[[], None]:
    """The step ``key`` ("MODEL:train" or "MODEL:infer") of a model of its own."""
    name, kind = key.split(":")
    return build(lib, name)[kind == "infer"]


def measure_peak(lib_name: str, name: str, kind: str, threads: int) -> float:
    """MB of resident memory that two ``kind`` steps ("train" or "infer") add at their peak (this process)."""
    fn = build(load(lib_name, threads), name)[kind == "infer"]
    gc.collect()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset VmHWM (the peak resident set) to the current resident set
    baseline = _status_kib("VmRSS")
    for _ in range(2):
        fn()
    return (_status_kib("VmHWM") - baseline) / 1024


def print_memory(models: list[str], threads: int) -> None:
    """Peak memory per model and step kind, each measured by a fresh run of this script."""
    print("peak memory above the post-setup resident set (fresh process each; ratio = nnrun / torch)")
    print(
        f"{'model':10s} {'nnrun train':>12s} {'torch train':>12s} {'ratio':>6s} "
        f"{'nnrun infer':>12s} {'torch infer':>12s} {'ratio':>6s}"
    )
    for name in models:
        mb = {}
        for kind in ("train", "infer"):
            for lib in ("nnrun", "torch"):
                command = [
                    sys.executable,
                    __file__,
                    "--threads",
                    str(threads),
                    "--peak",
                    f"{lib}:{name}:{kind}",
                ]
                mb[lib, kind] = float(
                    subprocess.run(command, capture_output=True, text=True, check=True).stdout
                )
        print(
            f"{name:10s} {mb['nnrun', 'train']:9.1f} MB {mb['torch', 'train']:9.1f} MB "
            f"{mb['nnrun', 'train'] / mb['torch', 'train']:6.2f} {mb['nnrun', 'infer']:9.1f} MB "
            f"{mb['torch', 'infer']:9.1f} MB {mb['nnrun', 'infer'] / mb['torch', 'infer']:6.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", default=",".join(MODELS), help="comma-separated subset of " + ",".join(MODELS)
    )
    parser.add_argument("--rounds", type=int, default=5, help="alternating timing rounds per model")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/PyTorch threads for both libraries")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory table")
    parser.add_argument("--peak", help=argparse.SUPPRESS)  # LIB:MODEL:KIND, the child of the memory table
    args = parser.parse_args()
    set_thread_variables(args.threads)
    if args.peak:
        print(measure_peak(*args.peak.split(":"), args.threads))
        return
    versions = {lib: importlib.metadata.version(lib) for lib in ("nnrun", "torch")}
    print(
        f"nnrun {versions['nnrun']} vs torch {versions['torch']}, {args.threads} threads, one process per "
        f"library, {args.rounds} alternating rounds; ratio = nnrun throughput / torch throughput, the median "
        "of the rounds' ratios (each against the torch turn right after it) and their range"
    )
    print(
        f"{'model':10s} {'batch':>5s} {'nnrun train':>12s} {'torch train':>12s} {'ratio':>6s} {'range':>9s} "
        f"{'nnrun infer':>12s} {'torch infer':>12s} {'ratio':>6s} {'range':>9s}"
    )
    with Turns(build_step, args.threads) as turns:
        for name in args.models.split(","):
            _, batch, count = MODELS[name]
            keys = [f"{name}:train", f"{name}:infer"]
            times = turns.rounds(keys, dict.fromkeys(LIBRARIES, count), args.rounds)
            cells = []
            for key in keys:
                ours = [t * 1e3 for t in times["nnrun", key]]
                theirs = [t * 1e3 for t in times["torch", key]]
                ratios = [t / o for o, t in zip(ours, theirs)]
                cells.append(
                    f"{statistics.median(ours):9.2f} ms {statistics.median(theirs):9.2f} ms "
                    f"{statistics.median(ratios):6.2f} {min(ratios):5.2f}-{max(ratios):4.2f}"
                )
            print(f"{name:10s} {batch:5d} " + " ".join(cells))
    if not args.no_memory:
        print_memory(args.models.split(","), args.threads)


if __name__ == "__main__":
    main()
