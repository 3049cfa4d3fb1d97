"""A tiny random RadGraph archive with exactly the public archive's layout (tests, benchmarks, demos).

What it is: :func:`build_tiny_radgraph` writes ``<model>.tar.gz`` holding ``config.json`` (DyGIE++ AllenNLP config,
same fields as the public one), ``vocabulary/`` (``<dataset>__ner_labels.txt`` starting with the null label,
``<dataset>__relation_labels.txt``, ``non_padded_namespaces.txt``) and ``weights.th`` (a torch-saved state dict with
the peer's key names -- backbone under ``_embedder.token_embedder_bert._matched_embedder.transformer_model.``, NER,
relation, and the unused coref/events weights -- with tiny dimensions), plus a backbone folder (BERT ``config.json``,
``vocab.txt``, ``tokenizer_config.json``). What it is not: a model that extracts meaningful entities (the weights are
random); and it does not import the ``radgraph`` package.

``real_size=True`` gives the public archives' sizes (BERT-base backbone, feature size 20, hidden 150, span width 8,
512-wordpiece segments) for speed benchmarks: speed does not depend on the weights.

Example:
    >>> import tempfile
    >>> tiny = build_tiny_radgraph(tempfile.mkdtemp())
    >>> sorted(p.name for p in (tiny.folder / "vocabulary").iterdir())
    ['non_padded_namespaces.txt', 'radgraph__ner_labels.txt', 'radgraph__relation_labels.txt']
"""

from __future__ import annotations

import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from radgrpo.metrics.text.radgraph_model.archive import (
    EMBEDDER_PREFIX,
    WEIGHTS_FILE,
    LabelSpace,
    RadGraphConfig,
    peer_head_shapes,
)

#: RadGraph v1 label set (RadGraph paper / PhysioNet schema)
V1_NER_LABELS = ["", "ANAT-DP", "OBS-DP", "OBS-U", "OBS-DA"]
#: RadGraph-XL-style labels (type::[measurement::]certainty), as the XL archive's output shows
XL_NER_LABELS = [
    "",
    "Anatomy::definitely present",
    "Anatomy::measurement::definitely present",
    "Observation::definitely present",
    "Observation::uncertain",
    "Observation::definitely absent",
    "Observation::measurement::definitely present",
]
RELATION_LABELS = ["located_at", "modify", "suggestive_of"]

_WORDS = [
    "no",
    "acute",
    "cardiopulmonary",
    "process",
    "abnormality",
    "evidence",
    "of",
    "moderate",
    "hiatal",
    "hernia",
    "mild",
    "pulmonary",
    "edema",
    "pleural",
    "effusion",
    "effusions",
    "left",
    "right",
    "lung",
    "lungs",
    "heart",
    "size",
    "normal",
    "stable",
    "tube",
    "terminates",
    "cm",
    "above",
    "the",
    "carina",
    "bibasilar",
    "opacities",
    "atelectasis",
    "or",
    "and",
    "is",
    "are",
    "with",
    "there",
]
_PIECES = [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"] + ["##ation", "##al", "##s", "##ed", "##ing"]


@dataclass(frozen=True)
class TinyRadGraph:
    """Paths of a built tiny archive.

    Args:
        archive: the ``<model>.tar.gz``.
        folder: the same files unpacked (config.json, vocabulary/, weights.th).
        backbone_dir: the backbone's config + tokenizer folder.
        model_name: the backbone id written into config.json.
    """

    archive: Path
    folder: Path
    backbone_dir: Path
    model_name: str


def tiny_wordpiece_vocab() -> list[str]:
    """A small uncased WordPiece vocabulary: specials, punctuation, letters/digits, a few radiology words."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789.,:;!?()/-%'\"`+=<>")
    return specials + chars + _PIECES + list(_WORDS)


def build_tiny_radgraph(
    out_dir: str | os.PathLike,
    model: str = "radgraph",
    seed: int = 0,
    *,
    real_size: bool = False,
    hidden_size: int = 32,
    num_layers: int = 2,
    feature_size: int = 8,
    ff_hidden: int = 16,
    max_span_width: int = 4,
    max_length: int = 512,
    spans_per_word: float = 0.5,
    weight_scale: float = 1.0,
    wordpiece_vocab: str | os.PathLike | None = None,
) -> TinyRadGraph:
    """Write a random RadGraph archive with the public layout and key names.

    Args:
        out_dir: folder to write into (``<model>.tar.gz``, ``<model>/``, ``backbone/``).
        model: ``"radgraph"`` (v1 labels) or ``"radgraph-xl"`` (XL-style labels); also the vocabulary dataset name.
        seed: torch seed of the random weights.
        real_size: use the public archives' dimensions (BERT-base: 768 hidden, 12 layers; feature 20; FF 150;
            span width 8; 512 wordpieces) instead of the tiny ones below.
        hidden_size, num_layers: tiny BERT size.
        feature_size: span-width embedding size.
        ff_hidden: hidden size of the two-layer feed-forward nets.
        max_span_width: widest span in words.
        max_length: wordpieces per BERT segment (small values exercise the long-report folding).
        spans_per_word: relation pruner ratio.
        weight_scale: multiplies the heads' random weights (larger -> more decided labels).
        wordpiece_vocab: a real uncased WordPiece ``vocab.txt`` to use instead of the tiny one (benchmarks: real
            wordpiece counts per report).
    Returns:
        :class:`TinyRadGraph` with the paths.
    """
    import torch
    from transformers import BertConfig, BertModel

    if real_size:
        hidden_size, num_layers, feature_size, ff_hidden, max_span_width = 768, 12, 20, 150, 8
    out = Path(out_dir)
    folder, backbone = out / model, out / "backbone"
    (folder / "vocabulary").mkdir(parents=True, exist_ok=True)
    backbone.mkdir(parents=True, exist_ok=True)
    model_name = f"radgrpo-tiny/{model}-bert"

    if wordpiece_vocab is not None:
        vocab = Path(wordpiece_vocab).read_text(encoding="utf-8").splitlines()
    else:
        vocab = tiny_wordpiece_vocab()
    (backbone / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    bert_cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=max(1, hidden_size // 16),
        intermediate_size=4 * hidden_size,
        max_position_embeddings=max(512, max_length),
    )
    bert_cfg.save_pretrained(backbone)
    (backbone / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": True, "tokenizer_class": "BertTokenizer", "model_max_length": 512}),
        encoding="utf-8",
    )

    ner = V1_NER_LABELS if model == "radgraph" else XL_NER_LABELS
    (folder / "vocabulary" / "non_padded_namespaces.txt").write_text("*tags\n*labels\n", encoding="utf-8")
    (folder / "vocabulary" / f"{model}__ner_labels.txt").write_text("\n".join(ner) + "\n", encoding="utf-8")
    (folder / "vocabulary" / f"{model}__relation_labels.txt").write_text(
        "\n".join(RELATION_LABELS) + "\n", encoding="utf-8"
    )
    indexer = {"type": "pretrained_transformer_mismatched", "model_name": model_name, "max_length": max_length}
    config = {
        "dataset_reader": {
            "type": "dygie",
            "token_indexers": {"bert": dict(indexer)},
            "max_span_width": max_span_width,
        },
        "model": {
            "type": "dygie",
            "embedder": {"token_embedders": {"bert": dict(indexer)}},
            "initializer": {"regexes": [["_span_width_embedding.weight", {"type": "xavier_normal"}]]},
            "module_initializer": {
                "regexes": [[".*weight", {"type": "xavier_normal"}], [".*weight_matrix", {"type": "xavier_normal"}]]
            },
            "loss_weights": {"ner": 0.2, "relation": 1.0, "coref": 0.0, "events": 0.0},
            "feature_size": feature_size,
            "max_span_width": max_span_width,
            "target_task": "relation",
            "feedforward_params": {"num_layers": 2, "hidden_dims": ff_hidden, "dropout": 0.4},
            "modules": {
                "coref": {"spans_per_word": 0.3, "max_antecedents": 100, "coref_prop": 0},
                "ner": {},
                "relation": {"spans_per_word": spans_per_word},
                "events": {
                    "trigger_spans_per_word": 0.3,
                    "argument_spans_per_word": 0.8,
                    "loss_weights": {"trigger": 0.2, "arguments": 1.0},
                },
            },
        },
        "data_loader": {"batch_sampler": {"type": "bucket", "batch_size": 1}},
        "trainer": {"num_epochs": 50, "grad_norm": 5.0, "cuda_device": -1, "validation_metric": "+MEAN__relation_f1"},
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")

    torch.manual_seed(seed)
    bert = BertModel(bert_cfg)
    state = {EMBEDDER_PREFIX + k: v.detach().clone() for k, v in bert.state_dict().items()}
    cfg = RadGraphConfig(
        model_name, max_length, max_span_width, max_span_width, feature_size, (ff_hidden, ff_hidden), spans_per_word
    )
    gen = torch.Generator().manual_seed(seed + 1)
    for key, shape in peer_head_shapes(cfg, LabelSpace(model, ner, RELATION_LABELS), hidden_size).items():
        fan_in = shape[1] if len(shape) == 2 else shape[0]
        state[key] = torch.randn(shape, generator=gen) * (weight_scale / fan_in**0.5)
    torch.save(state, folder / WEIGHTS_FILE)

    archive = out / f"{model}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("config.json", "vocabulary", WEIGHTS_FILE):
            tar.add(folder / name, arcname=name)
    return TinyRadGraph(archive, folder, backbone, model_name)
