"""kiln's CNN and ResNet at any image size: global pooling makes the head size-free, and the
ResNet's stem shrinks large images (stride 2 from 64 px, 4 from 128 px) before its stages."""

import pytest
import torch

from kiln.errors import KilnError
from kiln.models import CNN, ResNet
from kiln.models.resnet import stem_stride_for

SIZES = [(1, 8, 8), (3, 32, 32), (3, 64, 64), (3, 48, 80), (3, 224, 224)]


@pytest.mark.parametrize("shape", SIZES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("cls", [CNN, ResNet])
def test_image_models_take_any_size(cls, shape):
    torch.manual_seed(0)
    net = cls(in_shape=shape, out_features=5, channels=[8, 16]).eval()
    with torch.no_grad():
        out = net(torch.randn(2, *shape))
    assert out.shape == (2, 5) and torch.isfinite(out).all()


def test_resnet_stem_follows_the_image_size():
    assert [stem_stride_for(s) for s in (8, 32, 63, 64, 127, 128, 224)] == [1, 1, 1, 2, 2, 4, 4]
    maps = {}
    for size, stride in ((32, None), (64, None), (224, None), (224, 1)):
        net = ResNet(in_shape=(3, size, size), out_features=2, channels=[4, 8], stem_stride=stride)
        maps[(size, stride)] = net.stem(torch.zeros(1, 3, size, size)).shape[-1]
    assert maps == {(32, None): 32, (64, None): 32, (224, None): 56, (224, 1): 224}
    # the stages after the stem still halve the map: 224 px ends at 28 with two stages
    net = ResNet(in_shape=(3, 224, 224), out_features=2, channels=[4, 8])
    assert net.stages(net.stem(torch.zeros(1, 3, 224, 224))).shape[-1] == 28


def test_resnet_stem_stride_is_checked():
    with pytest.raises(KilnError, match=r"^model.stem_stride=3 must be 1, 2 or 4"):
        ResNet(in_shape=(3, 64, 64), out_features=2, stem_stride=3)
