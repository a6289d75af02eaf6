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


# --------------------------------------------------------------------------- Faster R-CNN, VGG16
# Ren et al. 2015 with the VGG16 backbone, composed from torchvision's detection modules so
# that torchvision is the oracle for Osprey's family "fasterrcnn_vgg16". state_dict keys:
#   backbone.features.{0..28}.*        VGG16 `features` without its last max pool (C5:
#                                      stride 16, 512 channels)
#   rpn.head.conv.0.0.*, rpn.head.cls_logits.*, rpn.head.bbox_pred.*   RPNHead(512, 9)
#   roi_heads.box_head.fc6.*, roi_heads.box_head.fc7.*   VGG16's classifier.0 / .3
#   roi_heads.box_predictor.cls_score.*, roi_heads.box_predictor.bbox_pred.*
class VGG16C5(nn.Module):
    """VGG16's conv layers up to conv5_3 + ReLU (torchvision vgg16().features[:30])."""

    def __init__(self):
        super().__init__()
        import torchvision
        self.features = torchvision.models.vgg16(weights=None).features[:-1]
        self.out_channels = 512

    def forward(self, x):
        return self.features(x)  # FasterRCNN names a single feature map '0'


class RoIPoolC5(nn.Module):
    """Fast R-CNN's RoI max pooling (torchvision.ops.roi_pool, quantized) on feature '0', with
    the (features, proposals, image_shapes) call of RoIHeads.box_roi_pool."""

    def __init__(self, output_size=7, spatial_scale=1.0 / 16):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, features, proposals, image_shapes):
        import torchvision
        return torchvision.ops.roi_pool(features["0"], proposals, self.output_size, self.spatial_scale)


class VGG16BoxHead(nn.Module):
    """VGG16's fc6 / fc7 (25088 -> 4096 -> 4096, ReLU; dropout is identity at inference)."""

    def __init__(self, in_features=512 * 7 * 7, representation_size=4096):
        super().__init__()
        self.fc6 = nn.Linear(in_features, representation_size)
        self.fc7 = nn.Linear(representation_size, representation_size)

    def forward(self, x):
        x = torch.flatten(x, 1)
        return torch.relu(self.fc7(torch.relu(self.fc6(x))))


def fasterrcnn_vgg16(num_classes=21, min_size=600, max_size=1000, vgg=None, **kwargs):
    """Faster R-CNN with VGG16 (Ren et al. 2015): one C5 level, 9 anchors (sizes 128, 256,
    512 x ratios 0.5, 1, 2, torchvision's AnchorGenerator), RoI pooling 7x7 at 1/16, fc6 /
    fc7 box head, FastRCNNPredictor(4096, num_classes). torchvision's transform (ImageNet
    mean / std) at the paper's 600 / 1000. `vgg`: an optional torchvision VGG16 (e.g.
    ImageNet weights) whose features and fc6 / fc7 are copied in. Other keyword arguments go
    to torchvision's FasterRCNN (e.g. rpn_post_nms_top_n_test=300 as in the paper)."""
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor
    backbone = VGG16C5()
    box_head = VGG16BoxHead()
    if vgg is not None:
        backbone.features.load_state_dict(vgg.features[:-1].state_dict())
        box_head.fc6.load_state_dict(vgg.classifier[0].state_dict())
        box_head.fc7.load_state_dict(vgg.classifier[3].state_dict())
    anchors = AnchorGenerator(sizes=((128, 256, 512),), aspect_ratios=((0.5, 1.0, 2.0),))
    model = FasterRCNN(backbone, rpn_anchor_generator=anchors, box_head=box_head,
                       box_predictor=FastRCNNPredictor(4096, num_classes), min_size=min_size, max_size=max_size,
                       image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225], **kwargs)
    # FasterRCNN's constructor accepts only MultiScaleRoIAlign poolers: swap it in after.
    model.roi_heads.box_roi_pool = RoIPoolC5()
    return model


# --------------------------------------------------------------------------- FCN (VGG16)
# Long, Shelhamer & Darrell 2015, "Fully Convolutional Networks for Semantic Segmentation",
# as the authors' Caffe nets voc-fcn32s / voc-fcn16s / voc-fcn8s (fcn.berkeleyvision.org
# net.py): module names are the Caffe layer names, which the C++ families
# fcn32s_vgg16 / fcn16s_vgg16 / fcn8s_vgg16 bind ("conv1_1.weight", "fc6.weight",
# "score_fr.weight", "upscore2.weight", "score_pool4.weight", ...).
# Input: BGR, 0..255 minus the ILSVRC mean (Caffe's preprocessing); any size, the output is
# cropped back to it. The learned upsampling (Caffe Deconvolution, bias_term false,
# bilinear-initialised) stores its weight as [out, in, kh, kw], torch's ConvTranspose2d
# weight with the first two axes swapped (Osprey's deconv layout).
class FCNUpscore(nn.Module):
    def __init__(self, channels, kernel, stride):
        super().__init__()
        self.stride = stride
        self.weight = nn.Parameter(_bilinear_kernel(channels, kernel))

    def forward(self, x):
        return nn.functional.conv_transpose2d(x, self.weight.transpose(0, 1), stride=self.stride)


def _bilinear_kernel(channels, kernel):
    """The FCN authors' upsample_filt: a bilinear kernel on the channel diagonal."""
    factor = (kernel + 1) // 2
    center = factor - 1 if kernel % 2 == 1 else factor - 0.5
    og = torch.arange(kernel, dtype=torch.float32)
    filt = (1 - (og - center).abs() / factor)
    w = torch.zeros(channels, channels, kernel, kernel)
    for c in range(channels):
        w[c, c] = filt[:, None] * filt[None, :]
    return w


class FCNVGG16(nn.Module):
    """FCN-32s / 16s / 8s (`output_stride`). `fc_channels` (4096 in the paper) only shrinks
    fc6 / fc7 for fast tests. Dropout is omitted (identity at inference)."""

    def __init__(self, num_classes=21, output_stride=8, fc_channels=4096):
        super().__init__()
        self.output_stride = output_stride
        cin = 3
        self.stages = []
        for stage, (width, n) in enumerate(zip((64, 128, 256, 512, 512), (2, 2, 3, 3, 3)), 1):
            names = []
            for i in range(1, n + 1):
                name = f"conv{stage}_{i}"
                setattr(self, name, nn.Conv2d(cin, width, 3, padding=100 if (stage, i) == (1, 1) else 1))
                names.append(name)
                cin = width
            self.stages.append(names)
        self.fc6 = nn.Conv2d(512, fc_channels, 7)
        self.fc7 = nn.Conv2d(fc_channels, fc_channels, 1)
        self.score_fr = nn.Conv2d(fc_channels, num_classes, 1)
        if output_stride == 32:
            self.upscore = FCNUpscore(num_classes, 64, 32)
        else:
            self.upscore2 = FCNUpscore(num_classes, 4, 2)
            self.score_pool4 = nn.Conv2d(512, num_classes, 1)
            if output_stride == 16:
                self.upscore16 = FCNUpscore(num_classes, 32, 16)
            else:
                self.score_pool3 = nn.Conv2d(256, num_classes, 1)
                self.upscore_pool4 = FCNUpscore(num_classes, 4, 2)
                self.upscore8 = FCNUpscore(num_classes, 16, 8)

    @staticmethod
    def _crop(x, like, offset):
        # Caffe's Crop layer (axis 2): x[..., offset:offset + like's size]
        return x[:, :, offset:offset + like.shape[2], offset:offset + like.shape[3]]

    def forward(self, x):
        image = x
        pools = []
        for names in self.stages:
            for name in names:
                x = torch.relu(getattr(self, name)(x))
            x = nn.functional.max_pool2d(x, 2, 2, ceil_mode=True)  # Caffe pools round up
            pools.append(x)
        x = torch.relu(self.fc6(x))
        x = torch.relu(self.fc7(x))
        x = self.score_fr(x)
        if self.output_stride == 32:
            return self._crop(self.upscore(x), image, 19)
        up2 = self.upscore2(x)
        x = up2 + self._crop(self.score_pool4(pools[3]), up2, 5)
        if self.output_stride == 16:
            return self._crop(self.upscore16(x), image, 27)
        up4 = self.upscore_pool4(x)
        x = up4 + self._crop(self.score_pool3(pools[2]), up4, 9)
        return self._crop(self.upscore8(x), image, 31)


def FCN32s(num_classes=21, fc_channels=4096):
    return FCNVGG16(num_classes, 32, fc_channels)


def FCN16s(num_classes=21, fc_channels=4096):
    return FCNVGG16(num_classes, 16, fc_channels)


def FCN8s(num_classes=21, fc_channels=4096):
    return FCNVGG16(num_classes, 8, fc_channels)


# Name -> (class, default classes, input (C, H, W)) for the export/parity scripts.
REFERENCE_MODELS = {
    "lenet5": (LeNet5, 10, (1, 28, 28)),
    "alexnet_lrn": (AlexNetLRN, 1000, (3, 227, 227)),
    "zfnet": (ZFNet, 1000, (3, 224, 224)),
    "inception_v4": (InceptionV4, 1000, (3, 299, 299)),
    "fcn32s_vgg16": (FCN32s, 21, (3, 512, 512)),
    "fcn16s_vgg16": (FCN16s, 21, (3, 512, 512)),
    "fcn8s_vgg16": (FCN8s, 21, (3, 512, 512)),
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
