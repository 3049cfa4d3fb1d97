"""Load models and processors by hub id, local folder or PEFT adapter folder (Qwen3-VL by default, other families
through a transformers auto class); LoRA configs via peft.

One code path for the embedded tiny model (``radgrpo.models.tiny``), real checkpoints such as
``Qwen/Qwen3-VL-8B-Instruct`` on users' machines, and LoRA adapters saved by peft / TRL (applied to their base model
and merged). A name that is no folder here and no usable hub model fails at once (:func:`check_local_folder`,
:func:`check_hub_model`), never after a minute of hub retries. Without torchvision, transformers cannot build the video processor,
so the processor falls back to an image-only subclass (:func:`radgrpo.models.processor.image_only_processor`).
Processors come back with left padding for batched generation. Image resolution is set by
``min_pixels``/``max_pixels`` (the paper: 1024/451584).

Example:
    >>> resolve_dtype("bfloat16")
    torch.bfloat16
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from radgrpo.config import ConfigError, closest
from radgrpo.errors import RadgrpoUserError

# Modules LoRA adapts by default: attention and MLP projections of the language model (vision tower frozen).
DEFAULT_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def resolve_dtype(dtype: Any) -> Any:
    """``"bfloat16"``/``"float32"``/``"auto"``/a torch dtype/None -> what ``from_pretrained`` takes."""
    import torch

    if dtype is None or dtype == "auto" or isinstance(dtype, torch.dtype):
        return dtype
    short = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    out = short.get(dtype) or getattr(torch, str(dtype), None)
    if not isinstance(out, torch.dtype):
        raise ValueError(f"unknown dtype {dtype!r}; use auto, bfloat16, float16 or float32")
    return out


class ModelLoadError(RadgrpoUserError, OSError):
    """A model, processor or adapter that cannot be loaded from the name the user gave: a missing local folder, a hub
    id neither cached nor reachable, or a checkpoint that does not load. An ``OSError`` too."""


def _load_error(name_or_path: str, what: str, err: Exception) -> ModelLoadError:
    if "trust_remote_code" in str(err):
        hint = "the model ships its own code: pass --trust_remote_code (trust_remote_code=True) to run it"
    elif not os.path.isdir(name_or_path):
        hint = "it is not a local folder; with HF_HUB_OFFLINE=1 a hub id must already be in the HF cache"
    else:
        hint = "the folder exists but is incomplete or not a checkpoint this auto class loads"
    return ModelLoadError(f"cannot load the {what} from {name_or_path!r}: {hint}. ({type(err).__name__}: {err})")


def looks_local(name_or_path: str) -> bool:
    """Whether a model name is meant as a local folder rather than a hub id (``org/name``).

    A name is local when it starts with ``.``, ``/`` or ``~``, has more than one ``/``, contains a backslash, or its
    first component is an existing folder here (``demo_out/sftt`` when ``demo_out/`` exists).

    Example:
        >>> looks_local("Qwen/Qwen3-VL-8B-Instruct"), looks_local("./runs/sft"), looks_local("/data/m")
        (False, True, True)
    """
    parts = Path(name_or_path).expanduser().parts
    return (
        name_or_path.startswith((".", "/", "~"))
        or name_or_path.count("/") >= 2
        or "\\" in name_or_path
        or (len(parts) > 1 and Path(parts[0]).is_dir())
    )


def _nearest_folder(path: Path) -> str:
    parent = path.parent
    near = closest(path.name, [c.name for c in parent.iterdir() if c.is_dir()]) if parent.is_dir() else None
    return f"; did you mean {parent / near}?" if near else ""


def check_local_folder(name_or_path: str | os.PathLike, what: str = "model") -> None:
    """Fail at once, naming the nearest existing folders, when a local-looking model folder does not exist (instead of
    treating the name as a hub id and retrying the hub). Hub ids pass (:func:`check_hub_model` checks those).

    Raises:
        ModelLoadError: the folder does not exist (the CLI prints it as one line).

    Example:
        >>> check_local_folder("./no_such_run/checkpoint-1")
        Traceback (most recent call last):
        ...
        radgrpo.models.qwen3_vl.ModelLoadError: cannot load the model from './no_such_run/checkpoint-1': no such folder
    """
    name = str(name_or_path)
    path = Path(name).expanduser()
    if not looks_local(name) or path.exists():
        return
    raise ModelLoadError(f"cannot load the {what} from {name!r}: no such folder{_nearest_folder(path)}")


def _in_hf_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    for filename in ("config.json", ADAPTER_CONFIG):
        try:
            if isinstance(try_to_load_from_cache(repo_id, filename), str):
                return True
        except ValueError:  # not a valid repo id
            return False
    return False


_HUB_FOUND: set[str] = set()  # hub ids the hub answered for in this process (asked once)


def check_hub_model(name_or_path: str | os.PathLike, what: str = "model") -> None:
    """Fail at once when a name that is not a folder here cannot be a usable hub model: not in the HF cache, and either
    offline (``HF_HUB_OFFLINE=1``), not a valid repo id, unknown to the hub, or the hub unreachable. One hub request
    with a short timeout replaces the minute of retries ``from_pretrained`` spends on a mistyped relative path
    (``runs/sftt``) before failing. Local folders, cached hub ids and models the hub has (gated ones included) pass.

    Raises:
        ModelLoadError: naming the model, that no such folder exists here, and why the hub cannot provide it.

    Example:
        >>> import huggingface_hub.constants as hub
        >>> offline, hub.HF_HUB_OFFLINE = hub.HF_HUB_OFFLINE, True
        >>> try:
        ...     check_hub_model("no_such_runs_dir/sftt")
        ... finally:
        ...     hub.HF_HUB_OFFLINE = offline
        Traceback (most recent call last):
        ...
        radgrpo.models.qwen3_vl.ModelLoadError: cannot load the model from 'no_such_runs_dir/sftt': no such folder here, and no hub model of that name in the HF cache (HF_HUB_OFFLINE=1: the hub is not asked)
    """
    import huggingface_hub.constants as hub

    name = str(name_or_path)
    path = Path(name).expanduser()
    if path.exists() or name in _HUB_FOUND or _in_hf_cache(name):
        return
    start = f"cannot load the {what} from {name!r}: no such folder here"
    from huggingface_hub.errors import GatedRepoError, HFValidationError, RepositoryNotFoundError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        raise ModelLoadError(f"{start} (and it is not a hub id){_nearest_folder(path)}") from None
    if hub.HF_HUB_OFFLINE:
        raise ModelLoadError(
            f"{start}, and no hub model of that name in the HF cache (HF_HUB_OFFLINE=1: the hub is not asked)"
            f"{_nearest_folder(path)}"
        )
    from huggingface_hub import HfApi

    try:
        HfApi().model_info(name, timeout=10)
    except GatedRepoError:
        pass  # it exists; from_pretrained says what access it needs
    except RepositoryNotFoundError:
        raise ModelLoadError(
            f"{start}, and the hub has no model {name!r} (a private one needs `hf auth login`){_nearest_folder(path)}"
        ) from None
    except Exception as e:  # no network, DNS, proxy: from_pretrained would retry for a minute and fail the same way
        if getattr(getattr(e, "response", None), "status_code", 0) >= 500:
            return  # the hub is there but failing: let from_pretrained retry
        raise ModelLoadError(
            f"{start}, not in the HF cache, and the hub ({hub.ENDPOINT}) cannot be reached to look for it "
            f"({type(e).__name__}: {e}){_nearest_folder(path)}"
        ) from None
    _HUB_FOUND.add(name)


#: the file that makes a folder a PEFT adapter
ADAPTER_CONFIG = "adapter_config.json"
#: files that make a folder hold its own processor (image processor settings, chat template)
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")


def peft_adapter_config(name_or_path: str | os.PathLike) -> dict[str, Any] | None:
    """The ``adapter_config.json`` of a local PEFT adapter folder as a dict; None for anything else.

    Example:
        >>> import json, tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "base_model_name_or_path": "b"}))
        >>> peft_adapter_config(d)["base_model_name_or_path"], peft_adapter_config(d.parent)
        ('b', None)
    """
    import json

    path = Path(name_or_path).expanduser() / ADAPTER_CONFIG
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ConfigError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data


def adapter_base_model(name_or_path: str | os.PathLike, base_model: str | os.PathLike | None = None) -> str | None:
    """The base model a PEFT adapter folder is applied to: ``base_model`` when given, else its config's
    ``base_model_name_or_path``; None when ``name_or_path`` is not an adapter folder.

    Raises:
        ConfigError: an adapter folder whose config names no base model and no ``base_model`` given (a
            ``ValueError``; the CLI prints it as one line).
    """
    adapter = peft_adapter_config(name_or_path)
    if adapter is None:
        return None
    base = str(base_model or adapter.get("base_model_name_or_path") or "")
    if not base:
        raise ConfigError(
            f"{name_or_path} is a PEFT adapter whose {ADAPTER_CONFIG} names no base_model_name_or_path; "
            "pass the base model (--base_model)"
        )
    return base


def read_model_config(
    name_or_path: str | os.PathLike, base_model: str | os.PathLike | None = None
) -> dict[str, Any] | None:
    """The model's ``config.json`` as a dict (the base model's for a PEFT adapter folder), read from the folder or the
    HF cache without any network access; None when it is not available locally (a hub id not yet downloaded).

    Example:
        >>> read_model_config("no_such_org/no_such_model") is None
        True
    """
    import json

    base = adapter_base_model(name_or_path, base_model)
    name = base or str(name_or_path)
    local = Path(name).expanduser() / "config.json"
    path: str | Path | None = local if local.is_file() else None
    if path is None and not looks_local(name):
        from huggingface_hub import try_to_load_from_cache

        try:
            cached = try_to_load_from_cache(name, "config.json")
        except ValueError:
            cached = None
        path = cached if isinstance(cached, str) else None
    if path is None:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _auto_class(name: str) -> Any:
    import transformers

    cls = getattr(transformers, name, None) if name.startswith("Auto") else None
    if cls is None or not hasattr(cls, "from_pretrained"):
        raise ConfigError(
            f"unknown transformers auto class {name!r} (e.g. AutoModelForImageTextToText, AutoModelForCausalLM)"
        )
    return cls


def _from_pretrained(cls: Any, name: str, what: str, kwargs: dict[str, Any]) -> Any:
    check_local_folder(name, what)
    check_hub_model(name, what)
    try:
        return cls.from_pretrained(name, **kwargs)
    except (OSError, ValueError) as e:
        raise _load_error(name, what, e) from e


def load_model(
    name_or_path: str | os.PathLike,
    *,
    dtype: Any = None,
    device: str | None = None,
    attn_implementation: str | None = None,
    base_model: str | os.PathLike | None = None,
    trust_remote_code: bool = False,
    auto_class: str = "AutoModelForImageTextToText",
    merge: bool = True,
) -> Any:
    """A model by hub id or folder: a Qwen-VL ``...ForConditionalGeneration`` (any image-text-to-text model) by
    default, another family through ``auto_class``; a PEFT adapter folder is applied to its base model.

    Args:
        name_or_path: hub id (e.g. ``Qwen/Qwen3-VL-8B-Instruct``), local model folder, or local PEFT adapter folder
            (``adapter_config.json`` + adapter weights, as ``peft`` / TRL with a LoRA config save it).
        dtype: torch dtype or its name; None keeps the checkpoint's.
        device: e.g. ``"cuda"``, ``"cpu"``; None leaves it where ``from_pretrained`` puts it.
        attn_implementation: e.g. ``"sdpa"``, ``"flash_attention_2"``.
        base_model: the base of a PEFT adapter folder (default: its ``base_model_name_or_path``); ignored otherwise.
        trust_remote_code: run the model's own code from the hub (families outside transformers need it).
        auto_class: the transformers auto class that loads the family (the model adapter's ``auto_class``, e.g.
            ``"AutoModelForImageTextToText"``, ``"AutoModelForCausalLM"``).
        merge: merge a PEFT adapter into the base weights (``merge_and_unload``: plain inference speed); False keeps
            the ``PeftModel``.
    Raises:
        ModelLoadError: a missing local folder, a hub id that is not cached or reachable, or a checkpoint that
            does not load (an ``OSError``; one line in the CLI).
        ConfigError: an unknown ``auto_class``; an adapter folder without a base model (``ValueError`` s, one line in
            the CLI).

    Example:
        >>> load_model("./runs/no_such_run")
        Traceback (most recent call last):
        ...
        radgrpo.models.qwen3_vl.ModelLoadError: cannot load the model from './runs/no_such_run': no such folder
    """
    name = str(name_or_path)
    check_local_folder(name, "model")
    cls = _auto_class(auto_class)
    kwargs: dict[str, Any] = {}
    if dtype is not None:
        kwargs["dtype"] = resolve_dtype(dtype)
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if trust_remote_code:
        kwargs["trust_remote_code"] = True
    base = adapter_base_model(name, base_model)
    if base is None:
        model: Any = _from_pretrained(cls, name, "model", kwargs)
    else:
        from peft import PeftModel

        model = _from_pretrained(cls, base, f"base model of the PEFT adapter {name}", kwargs)
        try:
            model = PeftModel.from_pretrained(model, name)
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise ModelLoadError(
                f"cannot apply the PEFT adapter {name!r} to its base model {base!r} ({type(e).__name__}: {e})"
            ) from e
        if merge:
            model = model.merge_and_unload()
    if device is not None:
        model = model.to(device)
    return model


def _processor_class(config_source: str, trust_remote_code: bool) -> Any:
    """The processor class to load with: AutoProcessor, or an image-only Qwen-VL processor without torchvision."""
    import transformers
    from transformers import AutoConfig, AutoProcessor

    from radgrpo.models.processor import has_torchvision, image_only_processor

    if has_torchvision():
        return AutoProcessor
    model_type = AutoConfig.from_pretrained(config_source, trust_remote_code=trust_remote_code).model_type
    cls_name = {
        "qwen3_vl": "Qwen3VLProcessor",
        "qwen3_vl_moe": "Qwen3VLProcessor",
        "qwen2_5_vl": "Qwen2_5_VLProcessor",
        "qwen2_vl": "Qwen2VLProcessor",
    }.get(model_type)
    return AutoProcessor if cls_name is None else image_only_processor(getattr(transformers, cls_name))


def load_processor(
    name_or_path: str | os.PathLike,
    *,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    padding_side: str = "left",
    base_model: str | os.PathLike | None = None,
    trust_remote_code: bool = False,
) -> Any:
    """The processor (tokenizer + image processor + chat template), image-only without torchvision.

    Args:
        name_or_path: hub id or folder; for a PEFT adapter folder the processor saved beside the adapter
            (``preprocessor_config.json`` / ``processor_config.json``), else the base model's.
        min_pixels: smallest image area after resizing (paper: 1024); None keeps the saved value.
        max_pixels: largest image area (paper: 451584 = 672²); None keeps the saved value.
        padding_side: ``"left"`` for batched generation.
        base_model: the base of a PEFT adapter folder (default: its ``base_model_name_or_path``).
        trust_remote_code: run the processor's own code from the hub.
    """
    name = str(name_or_path)
    check_local_folder(name, "processor")
    base = adapter_base_model(name, base_model)
    source, config_source = name, name
    if base is not None:
        config_source = base
        if not any((Path(name).expanduser() / f).is_file() for f in PROCESSOR_FILES):
            source = base
    what = "processor" if source == name else f"processor of the base model of the PEFT adapter {name}"
    check_local_folder(source, what)
    check_hub_model(source, what)
    kwargs = {"trust_remote_code": True} if trust_remote_code else {}
    try:
        proc = _processor_class(config_source, trust_remote_code).from_pretrained(source, **kwargs)
    except (OSError, ValueError) as e:
        raise _load_error(source, what, e) from e
    ip = getattr(proc, "image_processor", None)
    if ip is not None and (min_pixels is not None or max_pixels is not None):
        size = dict(getattr(ip, "size", None) or {})
        if min_pixels is not None:
            size["shortest_edge"] = int(min_pixels)
            if hasattr(ip, "min_pixels"):
                ip.min_pixels = int(min_pixels)
        if max_pixels is not None:
            size["longest_edge"] = int(max_pixels)
            if hasattr(ip, "max_pixels"):
                ip.max_pixels = int(max_pixels)
        ip.size = size
    getattr(proc, "tokenizer", proc).padding_side = padding_side
    return proc


def load_model_and_processor(
    name_or_path: str | os.PathLike,
    *,
    dtype: Any = None,
    device: str | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    attn_implementation: str | None = None,
    base_model: str | os.PathLike | None = None,
    trust_remote_code: bool = False,
    auto_class: str = "AutoModelForImageTextToText",
) -> tuple[Any, Any]:
    """``(model, processor)`` from one hub id, folder or PEFT adapter folder; the processor pads on the left."""
    model = load_model(
        name_or_path,
        dtype=dtype,
        device=device,
        attn_implementation=attn_implementation,
        base_model=base_model,
        trust_remote_code=trust_remote_code,
        auto_class=auto_class,
    )
    proc = load_processor(
        name_or_path,
        min_pixels=min_pixels,
        max_pixels=max_pixels,
        base_model=base_model,
        trust_remote_code=trust_remote_code,
    )
    return model, proc


def lora_config(
    r: int = 16,
    alpha: int = 32,
    dropout: float = 0.05,
    target_modules: tuple[str, ...] | list[str] = DEFAULT_LORA_TARGETS,
) -> Any:
    """A peft ``LoraConfig`` for causal-LM LoRA on the language model's projections.

    Example:
        >>> lora_config(r=8).r
        8
    """
    from peft import LoraConfig

    return LoraConfig(
        r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(target_modules), task_type="CAUSAL_LM"
    )
