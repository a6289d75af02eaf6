"""PyTorch reference definitions of classifiers that torchvision does not ship.

Module names are part of the contract: the C++ family builders look up the same
state_dict keys (e.g. "features.0.weight", "features.6.branch1.1.bn.running_var").
"""
import torch
from torch import nn


# --------------------------------------------------------------------------- LeNet-5
class LeNet5(nn.Module):
    """LeCun et al. 1998, with tanh and average pooling. Input 1x28x28; the
    padding=2 of the first conv stands for the original 32x32 frame."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2),   # 0: 28 -> 28
            nn.Tanh(),                       # 1
            nn.AvgPool2d(2),                 # 2: 28 -> 14
            nn.Conv2d(6, 16, 5),             # 3: 14 -> 10
            nn.Tanh(),                       # 4
            nn.AvgPool2d(2),                 # 5: 10 -> 5
            nn.Conv2d(16, 120, 5),           # 6: 5 -> 1
            nn.Tanh(),                       # 7
        )
        self.classifier = nn.Sequential(
            nn.Linear(120, 84),              # 0
            nn.Tanh(),                       # 1
            nn.Linear(84, num_classes),      # 2
        )

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def _alexnet_classifier(num_classes):
    # Shared by AlexNetLRN and ZFNet: 256*6*6 = 9216 inputs.
    return nn.Sequential(
        nn.Dropout(),                        # 0
        nn.Linear(9216, 4096),               # 1
        nn.ReLU(inplace=True),               # 2
        nn.Dropout(),                        # 3
        nn.Linear(4096, 4096),               # 4
        nn.ReLU(inplace=True),               # 5
        nn.Linear(4096, num_classes),        # 6
    )


def _lrn():
    # Caffe/Krizhevsky LRN: size 5, alpha 1e-4, beta 0.75, k 2.
    # NB: PyTorch divides alpha by size (b = a / (k + alpha/n * sum a^2)^beta),
    # exactly like Caffe's ACROSS_CHANNELS mode.
    return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)


# --------------------------------------------------------------------------- AlexNet (2012)
class AlexNetLRN(nn.Module):
    """Krizhevsky et al. 2012 as in Caffe's bvlc_alexnet: single tower, the
    original two-GPU split expressed with groups=2. Input 3x227x227."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, 11, stride=4),                     # 0: 227 -> 55
            nn.ReLU(inplace=True),                              # 1
            _lrn(),                                             # 2
            nn.MaxPool2d(3, 2),                                 # 3: 55 -> 27
            nn.Conv2d(96, 256, 5, padding=2, groups=2),         # 4: 27
            nn.ReLU(inplace=True),                              # 5
            _lrn(),                                             # 6
            nn.MaxPool2d(3, 2),                                 # 7: 27 -> 13
            nn.Conv2d(256, 384, 3, padding=1),                  # 8
            nn.ReLU(inplace=True),                              # 9
            nn.Conv2d(384, 384, 3, padding=1, groups=2),        # 10
            nn.ReLU(inplace=True),                              # 11
            nn.Conv2d(384, 256, 3, padding=1, groups=2),        # 12
            nn.ReLU(inplace=True),                              # 13
            nn.MaxPool2d(3, 2),                                 # 14: 13 -> 6
        )
        self.classifier = _alexnet_classifier(num_classes)

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


# --------------------------------------------------------------------------- ZFNet
class ZFNet(nn.Module):
    """Zeiler & Fergus 2013, fig. 3. Input 3x224x224; maps 110->55->26->13->13->13->6."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, 7, stride=2, padding=1),           # 0: 224 -> 110
            nn.ReLU(inplace=True),                              # 1
            _lrn(),                                             # 2
            nn.MaxPool2d(3, 2, padding=1),                      # 3: 110 -> 55
            nn.Conv2d(96, 256, 5, stride=2),                    # 4: 55 -> 26
            nn.ReLU(inplace=True),                              # 5
            _lrn(),                                             # 6
            nn.MaxPool2d(3, 2, padding=1),                      # 7: 26 -> 13
            nn.Conv2d(256, 384, 3, padding=1),                  # 8
            nn.ReLU(inplace=True),                              # 9
            nn.Conv2d(384, 384, 3, padding=1),                  # 10
            nn.ReLU(inplace=True),                              # 11
            nn.Conv2d(384, 256, 3, padding=1),                  # 12
            nn.ReLU(inplace=True),                              # 13
            nn.MaxPool2d(3, 2),                                 # 14: 13 -> 6
        )
        self.classifier = _alexnet_classifier(num_classes)

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


# --------------------------------------------------------------------------- Inception-v4
# Layout follows Cadene's `pretrainedmodels` inceptionv4.py so its checkpoints load.
class BasicConv2d(nn.Module):
    """conv (no bias) + BatchNorm (eps 1e-3) + ReLU."""

    def __init__(self, in_planes, out_planes, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_planes, out_planes, kernel_size, stride=stride,
                              padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_planes, eps=0.001, momentum=0.1, affine=True)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


def _avgpool3():
    # 3x3/1 average that ignores padded cells at the border.
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class Mixed_3a(nn.Module):
    def __init__(self):
        super().__init__()
        self.maxpool = nn.MaxPool2d(3, stride=2)
        self.conv = BasicConv2d(64, 96, 3, stride=2)

    def forward(self, x):
        return torch.cat((self.maxpool(x), self.conv(x)), 1)          # 64+96 = 160


class Mixed_4a(nn.Module):
    def __init__(self):
        super().__init__()
        self.branch0 = nn.Sequential(
            BasicConv2d(160, 64, 1),
            BasicConv2d(64, 96, 3),
        )
        self.branch1 = nn.Sequential(
            BasicConv2d(160, 64, 1),
            BasicConv2d(64, 64, (1, 7), padding=(0, 3)),
            BasicConv2d(64, 64, (7, 1), padding=(3, 0)),
            BasicConv2d(64, 96, 3),
        )

    def forward(self, x):
        return torch.cat((self.branch0(x), self.branch1(x)), 1)      # 96+96 = 192


class Mixed_5a(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = BasicConv2d(192, 192, 3, stride=2)
        self.maxpool = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return torch.cat((self.conv(x), self.maxpool(x)), 1)          # 192+192 = 384


class Inception_A(nn.Module):
    def __init__(self):
        super().__init__()
        self.branch0 = BasicConv2d(384, 96, 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(384, 64, 1),
            BasicConv2d(64, 96, 3, padding=1),
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(384, 64, 1),
            BasicConv2d(64, 96, 3, padding=1),
            BasicConv2d(96, 96, 3, padding=1),
        )
        self.branch3 = nn.Sequential(_avgpool3(), BasicConv2d(384, 96, 1))

    def forward(self, x):
        return torch.cat((self.branch0(x), self.branch1(x),
                          self.branch2(x), self.branch3(x)), 1)       # 4*96 = 384


class Reduction_A(nn.Module):
    def __init__(self):
        super().__init__()
        self.branch0 = BasicConv2d(384, 384, 3, stride=2)
        self.branch1 = nn.Sequential(
            BasicConv2d(384, 192, 1),
            BasicConv2d(192, 224, 3, padding=1),
            BasicConv2d(224, 256, 3, stride=2),
        )
        self.branch2 = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return torch.cat((self.branch0(x), self.branch1(x), self.branch2(x)), 1)  # 384+256+384


class Inception_B(nn.Module):
    def __init__(self):
        super().__init__()
        self.branch0 = BasicConv2d(1024, 384, 1)
        self.branch1 = nn.Sequential(
            BasicConv2d(1024, 192, 1),
            BasicConv2d(192, 224, (1, 7), padding=(0, 3)),
            BasicConv2d(224, 256, (7, 1), padding=(3, 0)),
        )
        self.branch2 = nn.Sequential(
            BasicConv2d(1024, 192, 1),
            BasicConv2d(192, 192, (7, 1), padding=(3, 0)),
            BasicConv2d(192, 224, (1, 7), padding=(0, 3)),
            BasicConv2d(224, 224, (7, 1), padding=(3, 0)),
            BasicConv2d(224, 256, (1, 7), padding=(0, 3)),
        )
        self.branch3 = nn.Sequential(_avgpool3(), BasicConv2d(1024, 128, 1))

    def forward(self, x):
        return torch.cat((self.branch0(x), self.branch1(x),
                          self.branch2(x), self.branch3(x)), 1)       # 384+256+256+128


class Reduction_B(nn.Module):
    def __init__(self):
        super().__init__()
        self.branch0 = nn.Sequential(
            BasicConv2d(1024, 192, 1),
            BasicConv2d(192, 192, 3, stride=2),
        )
        self.branch1 = nn.Sequential(
            BasicConv2d(1024, 256, 1),
            BasicConv2d(256, 256, (1, 7), padding=(0, 3)),
            BasicConv2d(256, 320, (7, 1), padding=(3, 0)),
            BasicConv2d(320, 320, 3, stride=2),
        )
        self.branch2 = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return torch.cat((self.branch0(x), self.branch1(x), self.branch2(x)), 1)  # 192+320+1024


class Inception_C(nn.Module):
    def __init__(self):
        super().__init__()
        self.branch0 = BasicConv2d(1536, 256, 1)
        self.branch1_0 = BasicConv2d(1536, 384, 1)
        self.branch1_1a = BasicConv2d(384, 256, (1, 3), padding=(0, 1))
        self.branch1_1b = BasicConv2d(384, 256, (3, 1), padding=(1, 0))
        self.branch2_0 = BasicConv2d(1536, 384, 1)
        self.branch2_1 = BasicConv2d(384, 448, (3, 1), padding=(1, 0))
        self.branch2_2 = BasicConv2d(448, 512, (1, 3), padding=(0, 1))
        self.branch2_3a = BasicConv2d(512, 256, (1, 3), padding=(0, 1))
        self.branch2_3b = BasicConv2d(512, 256, (3, 1), padding=(1, 0))
        self.branch3 = nn.Sequential(_avgpool3(), BasicConv2d(1536, 256, 1))

    def forward(self, x):
        x0 = self.branch0(x)
        x1 = self.branch1_0(x)
        x2 = self.branch2_2(self.branch2_1(self.branch2_0(x)))
        x3 = self.branch3(x)
        return torch.cat((x0, self.branch1_1a(x1), self.branch1_1b(x1),
                          self.branch2_3a(x2), self.branch2_3b(x2), x3), 1)  # 6*256 = 1536


class InceptionV4(nn.Module):
    """Szegedy et al. 2016. Input 3x299x299 -> 1536x8x8 -> global average -> linear."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = nn.Sequential(
            BasicConv2d(3, 32, 3, stride=2),     # 0: 299 -> 149
            BasicConv2d(32, 32, 3),              # 1: 149 -> 147
            BasicConv2d(32, 64, 3, padding=1),   # 2: 147
            Mixed_3a(),                          # 3: -> 73, 160 ch
            Mixed_4a(),                          # 4: -> 71, 192 ch
            Mixed_5a(),                          # 5: -> 35, 384 ch
            Inception_A(), Inception_A(), Inception_A(), Inception_A(),        # 6-9
            Reduction_A(),                       # 10: -> 17, 1024 ch
            Inception_B(), Inception_B(), Inception_B(), Inception_B(),
            Inception_B(), Inception_B(), Inception_B(),                       # 11-17
            Reduction_B(),                       # 18: -> 8, 1536 ch
            Inception_C(), Inception_C(), Inception_C(),                       # 19-21
        )
        # Adaptive pooling equals AvgPool2d(8) at 299 but also works for other sizes.
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.last_linear = nn.Linear(1536, num_classes)

    def forward(self, x):
        x = self.features(x)
        x = self.avg_pool(x)
        x = torch.flatten(x, 1)
        return self.last_linear(x)


# Name -> (class, default classes, input (C, H, W)) for the export/parity scripts.
REFERENCE_MODELS = {
    "lenet5": (LeNet5, 10, (1, 28, 28)),
    "alexnet_lrn": (AlexNetLRN, 1000, (3, 227, 227)),
    "zfnet": (ZFNet, 1000, (3, 224, 224)),
    "inception_v4": (InceptionV4, 1000, (3, 299, 299)),
}


if __name__ == "__main__":
    # Shape check: run one input through each model and print parameter counts.
    torch.set_num_threads(2)
    for name, (cls, classes, chw) in REFERENCE_MODELS.items():
        m = cls(classes).eval()
        n = sum(p.numel() for p in m.parameters())
        with torch.no_grad():
            y = m(torch.zeros(1, *chw))
        print(f"{name:14s} params={n:>11,d}  input={chw}  output={tuple(y.shape)}")
