"""Hand-written PyTorch references for the CPU-training benchmark (`cpu_training.py`).

The same architectures as the registered Keras models the benchmark trains, written the way a
PyTorch user would write them for speed on a CPU: ``channels_last`` memory format, batch
normalization by ``torch.nn.BatchNorm2d`` (oneDNN's fused kernel), optionally
``torch.autocast("cpu", dtype=torch.bfloat16)``, and one training step that does what
`cnnbook.train.fit` does: the random crop from 4-pixel padding and horizontal flip, per-channel
normalization, SGD with Nesterov momentum and decoupled weight decay, cross-entropy on logits.

Used by the benchmark only; the book trains through Keras.
"""

import torch
import torch.nn.functional as F
from torch import nn


class ZeroPadShortcut(nn.Module):
    """Option A of He et al. (2016): subsample, then pad the channels with zeros."""

    def __init__(self, filters, stride):
        super().__init__()
        self.filters, self.stride = filters, stride

    def forward(self, x):
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.filters - x.shape[1]))


class BasicBlock(nn.Module):
    def __init__(self, inputs, filters, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, filters, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(filters, eps=1.001e-5, momentum=0.01)
        self.conv2 = nn.Conv2d(filters, filters, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(filters, eps=1.001e-5, momentum=0.01)
        self.shortcut = ZeroPadShortcut(filters, stride) if stride > 1 or inputs != filters else nn.Identity()

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class ResNetCifar(nn.Module):
    """ResNet-(6n+2) for CIFAR with option-A shortcuts: the registered ``resnet20`` for n=3."""

    def __init__(self, n=3, num_classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16, eps=1.001e-5, momentum=0.01)
        blocks, inputs = [], 16
        for stage, filters in enumerate((16, 32, 64)):
            for index in range(n):
                blocks.append(BasicBlock(inputs, filters, 2 if stage > 0 and index == 0 else 1))
                inputs = filters
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.blocks(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class WideVGG(nn.Module):
    """The registered ``speednet``: conv-BN-ReLU stem, then per width a conv, 2x2 max
    pooling, BN, ReLU, a second conv-BN-ReLU; global max pooling and a linear layer."""

    def __init__(self, widths=(64, 256, 256), stem=32, num_classes=10):
        super().__init__()
        layers, inputs = [nn.Conv2d(3, stem, 3, 1, 1, bias=False), nn.BatchNorm2d(stem, momentum=0.01), nn.ReLU()], stem
        for width in widths:
            layers += [
                nn.Conv2d(inputs, width, 3, 1, 1, bias=False), nn.MaxPool2d(2),
                nn.BatchNorm2d(width, momentum=0.01), nn.ReLU(),
                nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width, momentum=0.01), nn.ReLU(),
            ]  # fmt: skip
            inputs = width
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(inputs, num_classes)

    def forward(self, x):
        x = self.features(x)
        return self.fc(torch.flatten(F.adaptive_max_pool2d(x, 1), 1))


NETWORKS = {"resnet20": lambda: ResNetCifar(3), "speednet": WideVGG}


def crop_flip(images, padding=4):
    """Random crop from zero padding and horizontal flip, per image, on a (N, C, H, W) batch."""
    n, _, h, w = images.shape
    padded = F.pad(images, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (n, 1, 1))
    dx = torch.randint(0, 2 * padding + 1, (n, 1, 1))
    rows = dy + torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    cols = torch.where(torch.rand(n, 1, 1) < 0.5, w - 1 - cols, cols) + dx
    index = torch.arange(n).view(n, 1, 1)
    return padded.permute(0, 2, 3, 1)[index, rows, cols].permute(0, 3, 1, 2)


class Trainer:
    """One network, its optimizer and its training step, at a precision and a batch size."""

    def __init__(self, network, *, bf16, mean, std, learning_rate=0.05, weight_decay=5e-4):
        torch.manual_seed(0)
        self.model = NETWORKS[network]().to(memory_format=torch.channels_last)
        self.bf16 = bf16
        decay = [p for n, p in self.model.named_parameters() if p.ndim > 1]
        rest = [p for n, p in self.model.named_parameters() if p.ndim <= 1]
        self.optimizer = torch.optim.SGD(
            [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}],
            lr=learning_rate, momentum=0.9, nesterov=True,
        )  # fmt: skip
        self.mean = torch.tensor(mean).view(1, 3, 1, 1) * 255.0
        self.std = torch.tensor(std).view(1, 3, 1, 1) * 255.0

    def step(self, images, labels):
        """One training step on uint8 images (N, H, W, C) and integer labels."""
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
        x = crop_flip(x)
        x = ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        y = torch.from_numpy(labels).long()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            loss = F.cross_entropy(self.model(x), y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    def epoch(self, images, labels, batch_size):
        self.model.train()
        order = torch.randperm(len(labels)).numpy()
        for start in range(0, len(labels) - batch_size + 1, batch_size):
            batch = order[start : start + batch_size]
            self.step(images[batch], labels[batch])
