"""augment=: batch ops on the training device, in training steps only, seeded by the step."""

import pytest
import torch
from omegaconf import OmegaConf

from kiln.data.spec import InputSpec
from kiln.errors import KilnError
from kiln.models import CNN
from kiln.preprocessing.images import ImageInput
from kiln.preprocessing.scale import Standardize
from kiln.training.augment import augment_seed, build_augment, preset, resolve_augment
from kiln.training.module import KilnModule

SPEC = InputSpec(kind="image", shape=(3, 16, 16), task="multiclass", num_outputs=4, dataset="t")


def images(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 16, 16, 3), dtype=torch.uint8, generator=g)


def pre():
    return ImageInput(3).fit(images(32, seed=1))


def aug(spec=SPEC, preprocessor=None, **ops):
    node = OmegaConf.create({**preset("none"), "name": "custom", **ops})
    return build_augment(node, preprocessor or pre(), spec)


def test_flip_with_p1_flips_every_image():
    x = images()
    out, soft = aug(flip=1.0)(x, torch.zeros(8, dtype=torch.long), seed=1)
    assert soft is None
    assert torch.equal(out, (x.permute(0, 3, 1, 2).float() / 255).flip(-1))


def test_each_op_changes_the_batch_and_keeps_its_shape():
    x = images()
    base = x.permute(0, 3, 1, 2).float() / 255
    y = torch.arange(8) % 4
    for ops in (
        {"crop": 1.0, "crop_scale": [0.3, 0.5]},
        {"affine": 1.0, "rotate": 30.0},
        {"jitter": 1.0, "brightness": 0.5},
        {"erasing": 1.0},
    ):
        out, _ = aug(**ops)(x, y, seed=3)
        assert out.shape == base.shape and out.dtype == torch.float32, ops
        changed = (out - base).abs().flatten(1).amax(1) > 1e-3
        assert changed.all(), ops  # every image: each op ran with p=1
    erased, _ = aug(erasing=1.0)(x, y, seed=3)
    assert ((erased == 0).all(1).flatten(1).sum(1) > 0).all()  # a rectangle of zeros in each


def test_mixup_and_cutmix_give_soft_targets():
    x, y = images(), torch.arange(8) % 4
    base = x.permute(0, 3, 1, 2).float() / 255
    out, soft = aug(mixup=0.4)(x, y, seed=5)
    assert soft.shape == (8, 4) and torch.allclose(soft.sum(1), torch.ones(8))
    assert ((soft > 0).sum(1) <= 2).all()  # its own class and its partner's
    own = soft[torch.arange(8), y]  # lam, or 1 where the partner shares the class
    lam = float(own[own < 1].unique()) if (own < 1).any() else 1.0
    for i in range(8):  # each image is lam x itself + (1 - lam) x one image of the batch
        mixes = [lam * base[i] + (1 - lam) * base[j] for j in range(8)]
        assert any(torch.allclose(out[i], m, atol=1e-5) for m in mixes)
    assert not torch.equal(out, base)
    out, soft = aug(cutmix=1.0)(x, y, seed=5)
    kept = (out == base).all(1).float().mean((1, 2))  # share of pixels left as they were
    own = soft[torch.arange(8), y]
    assert torch.all(kept <= own + 1e-6)  # a pixel of the partner replaced at most 1 - lam
    with pytest.raises(KilnError, match=r"^augment.mixup and augment.cutmix mix class targets"):
        aug(spec=InputSpec(kind="image", shape=(3, 16, 16), task="binary", num_outputs=1,
                           dataset="t"), mixup=0.2)  # fmt: skip


def test_the_seed_fixes_every_draw():
    x, y = images(), torch.arange(8) % 4
    strong = aug(**{k: v for k, v in preset("strong").items() if k != "name"})
    a, sa = strong(x, y, seed=augment_seed(0, 7, 0, 0))
    b, sb = strong(x, y, seed=augment_seed(0, 7, 0, 0))
    c, _ = strong(x, y, seed=augment_seed(0, 8, 0, 0))
    assert torch.equal(a, b) and torch.equal(sa, sb) and not torch.equal(a, c)
    before = torch.get_rng_state()
    strong(x, y, seed=1)
    assert torch.equal(torch.get_rng_state(), before)  # the run's own stream is untouched


def test_presets_and_auto():
    for name in ("light", "standard", "strong"):
        node = OmegaConf.create(preset(name))
        out, _ = build_augment(node, pre(), SPEC)(images(), torch.arange(8) % 4, seed=0)
        assert out.shape == (8, 3, 16, 16) and torch.isfinite(out).all()
    assert build_augment(OmegaConf.create(preset("none")), pre(), SPEC) is None
    cfg = OmegaConf.create({"augment": {"name": "auto", "flip": 0.9, "crop": None}})
    assert resolve_augment(cfg, pre()) == "light"
    assert cfg.augment.flip == 0.9 and cfg.augment.crop == 1.0  # the user's key over the preset
    table = Standardize.fit(torch.randn(20, 3))
    cfg = OmegaConf.create({"augment": {"name": "auto"}})
    assert resolve_augment(cfg, table) == "none" and cfg.augment.flip == 0.0
    with pytest.raises(KilnError, match=r"^augment=light augments image files \(data=images\) "):
        build_augment(OmegaConf.create(preset("light")), table, SPEC)


def module(augment=None):
    torch.manual_seed(0)
    net = CNN(in_shape=(3, 16, 16), out_features=4, channels=[4, 8], hidden=8)
    return KilnModule(net, SPEC, preprocessor=pre(), augment=augment)


def test_augmentation_never_runs_outside_training_steps():
    x, y = images(), torch.arange(8) % 4
    plain = module()
    strong = module(aug(**{k: v for k, v in preset("strong").items() if k != "name"}))
    for m in (plain, strong):
        m.eval()
    assert torch.equal(plain(x), strong(x))
    assert torch.equal(plain.predict_step((x, y), 0), strong.predict_step((x, y), 0))
    # in training mode the augmented batch is another batch: the loss differs
    seed = augment_seed(0, 0, 0, 0)
    xa, soft = strong.augment(x, y, seed)
    plain.train()
    assert not torch.equal(plain.raw_output(xa), plain.raw_output(x))


def test_bad_augment_settings_are_one_sentence(runs):
    from tests.helpers import train

    fast = ["debug=fast", "logger=none"]
    with pytest.raises(KilnError, match=r"^augment=light augments image files \(data=images\)"):
        train(runs, *fast, "augment=light")  # scikit-learn's digits: arrays, not image files
    with pytest.raises(KilnError, match=r"^augment.flip=2 must be between 0 and 1"):
        train(runs, *fast, "augment=light", "augment.flip=2")
    with pytest.raises(KilnError, match=r"^augment.flop is not an augmentation key"):
        train(runs, *fast, "+augment.flop=1")
