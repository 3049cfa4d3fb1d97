"""Reading the public RadGraph archives: where they are, config.json, vocabulary/, weights.th and its key names.

What it is: the on-disk contract of ``StanfordAIMI/RRG_scorers:{radgraph,radgraph-xl}.tar.gz`` (an AllenNLP model
archive of a DyGIE++ model: ``config.json``, ``vocabulary/<dataset>__ner_labels.txt``,
``vocabulary/<dataset>__relation_labels.txt``, ``vocabulary/non_padded_namespaces.txt``, ``weights.th``) and the
mapping of its state-dict keys onto :class:`~radgrpo.metrics.text.radgraph_model.model.RadGraphModel`. What it is
not: the model itself (``model.py``) or the F1 arithmetic (``radgraph.py``). No torch at import time.

Key names follow the peer's module tree (radgraph 0.1.18 ``dygie/models/{dygie,ner,relation,coref,events}.py`` and
the AllenNLP ``PretrainedTransformerMismatchedEmbedder``/``EndpointSpanExtractor``/``FeedForward``/``TimeDistributed``
classes). The coreference and event modules are built by the peer even though RadGraph never runs them (their loss
weights are 0), so their weights sit in ``weights.th``; we check their names and ignore them.

Where an archive is looked for (first hit wins): an explicit ``model_dir`` (a ``.tar.gz``, a folder holding one, or an
extracted folder); ``$RADGRPO_MODELS_DIR/<name>/``; the radgraph package's own cache
``~/.cache/radgraph/0.1.18/<name>/``; the Hugging Face cache of ``StanfordAIMI/RRG_scorers``. A miss raises
:class:`~radgrpo.metrics.loaders.ModelNotFoundError` naming the file, the folder and ``radgrpo models download``.

Example:
    >>> labels = vocabulary_from_lines({"radgraph__ner_labels": ["", "ANAT-DP", "OBS-DP"],
    ...                                 "radgraph__relation_labels": ["located_at", "modify"]}, "radgraph")
    >>> labels.ner_labels, labels.relation_labels
    (['', 'ANAT-DP', 'OBS-DP'], ['located_at', 'modify'])
"""

from __future__ import annotations

import json
import math
import os
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from radgrpo.metrics.loaders import (
    ModelNotFoundError,
    ModelSpec,
    models_dir,
    register_locator,
    register_model,
    resolve_model,
)

#: the hub repository and file names the radgraph package downloads (radgraph.radgraph.MODEL_MAPPING)
RRG_SCORERS_REPO = "StanfordAIMI/RRG_scorers"
ARCHIVE_FILES = {"radgraph": "radgraph.tar.gz", "radgraph-xl": "radgraph-xl.tar.gz"}
#: backbone hub ids we expect the archives' config.json to name (the config is authoritative at load time; these
#: ids come from RadEval's documentation -- v1 PubMedBERT, XL CXR-BERT -- and are not verified against the archive)
BACKBONE_IDS = {
    "radgraph": "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext",
    "radgraph-xl": "microsoft/BiomedVLP-CXR-BERT-general",
}
#: the backbone files we need: config + tokenizer only (the BERT weights are inside weights.th)
BACKBONE_FILES = ("config.json", "vocab.txt")
RADGRAPH_PACKAGE_CACHE = Path.home() / ".cache" / "radgraph" / "0.1.18"
WEIGHTS_FILE = "weights.th"

EMBEDDER_PREFIX = "_embedder.token_embedder_bert._matched_embedder.transformer_model."
#: keys a DyGIE archive holds for modules RadGraph never runs (coref, events) -- recognised and ignored
UNUSED_PREFIXES = ("_coref.", "_events.")
#: buffers older transformers versions saved with the backbone; dropped when present
DROPPABLE_SUFFIXES = ("embeddings.position_ids",)

for _name, _file in ARCHIVE_FILES.items():
    register_model(
        ModelSpec(
            _name,
            RRG_SCORERS_REPO,
            (_file,),
            ("radgraph_simple", "radgraph_partial", "radgraph_complete", "radgraph_radcliq")
            if _name == "radgraph-xl"
            else ("radgraph_radcliq", "radcliq_v1"),
            f"RadGraph {'v1 (PhysioNet, DyGIE++)' if _name == 'radgraph' else 'XL'} model archive "
            f"(config.json, vocabulary/, weights.th); also needs its backbone '{_name}-backbone'",
            subfolder_files={_file: _file},
        )
    )
    register_model(
        ModelSpec(
            f"{_name}-backbone",
            BACKBONE_IDS[_name],
            BACKBONE_FILES,
            (f"{_name} archive",),
            f"config + tokenizer of the BERT named in {_file}'s config.json (weights come from weights.th)",
            subfolder_files={f: f for f in (*BACKBONE_FILES, "tokenizer_config.json", "special_tokens_map.json")},
        )
    )


@dataclass(frozen=True)
class RadGraphConfig:
    """The hyperparameters of a DyGIE RadGraph archive that inference needs (from its ``config.json``).

    Args:
        model_name: backbone hub id or path (``model.embedder.token_embedders.bert.model_name``).
        max_length: wordpieces per BERT segment incl. [CLS]/[SEP]; longer reports are folded (None: no folding).
        max_span_width: widest candidate span in words (``dataset_reader.max_span_width``).
        num_width_embeddings: rows of the span-width embedding (``model.max_span_width``).
        feature_size: span-width embedding size.
        ff_hidden_dims: hidden sizes of every feed-forward net (ReLU after each layer).
        spans_per_word: relation pruner keeps ``ceil(n_words * spans_per_word)`` spans.
        loss_weights: per-module loss weights (ner / relation must be > 0 for inference).
        coref_prop: coreference propagation rounds (must be 0: not implemented).
    """

    model_name: str
    max_length: int | None
    max_span_width: int
    num_width_embeddings: int
    feature_size: int
    ff_hidden_dims: tuple[int, ...]
    spans_per_word: float
    loss_weights: dict = field(default_factory=dict)
    coref_prop: int = 0
    raw: dict = field(default_factory=dict, repr=False, compare=False)


def parse_config(cfg: dict) -> RadGraphConfig:
    """Read the inference hyperparameters out of an archive's ``config.json`` dict.

    Args:
        cfg: the parsed ``config.json``.
    Returns:
        :class:`RadGraphConfig`.
    Raises:
        ValueError: a field is missing or names something this implementation does not run.

    Example:
        >>> c = parse_config({"dataset_reader": {"max_span_width": 8, "token_indexers": {"bert": {
        ...     "model_name": "m", "max_length": 512}}}, "model": {"type": "dygie", "embedder": {
        ...     "token_embedders": {"bert": {"model_name": "m", "max_length": 512}}}, "feature_size": 20,
        ...     "max_span_width": 8, "feedforward_params": {"num_layers": 2, "hidden_dims": 150},
        ...     "loss_weights": {"ner": 0.2, "relation": 1.0}, "modules": {"relation": {"spans_per_word": 0.5}}}})
        >>> c.ff_hidden_dims, c.max_length, c.spans_per_word
        ((150, 150), 512, 0.5)
    """
    try:
        model = cfg["model"]
        reader = cfg["dataset_reader"]
        bert = model["embedder"]["token_embedders"]["bert"]
        ff = model["feedforward_params"]
        n_layers = int(ff["num_layers"])
        hidden = ff["hidden_dims"]
        hidden = tuple(int(h) for h in hidden) if isinstance(hidden, list) else (int(hidden),) * n_layers
        modules = model.get("modules", {})
        out = RadGraphConfig(
            model_name=str(bert["model_name"]),
            max_length=None if bert.get("max_length") is None else int(bert["max_length"]),
            max_span_width=int(reader.get("max_span_width", model["max_span_width"])),
            num_width_embeddings=int(model["max_span_width"]),
            feature_size=int(model["feature_size"]),
            ff_hidden_dims=hidden,
            spans_per_word=float(modules["relation"]["spans_per_word"]),
            loss_weights=dict(model.get("loss_weights", {})),
            coref_prop=int(modules.get("coref", {}).get("coref_prop", 0)),
            raw=cfg,
        )
    except (KeyError, TypeError) as e:
        raise ValueError(f"RadGraph config.json lacks a field DyGIE inference needs: {e!r}") from e
    if model.get("type", "dygie") != "dygie":
        raise ValueError(f"RadGraph config.json model type {model.get('type')!r} is not 'dygie'")
    if out.coref_prop:
        raise ValueError("coref_prop > 0 (coreference propagation) is not implemented; RadGraph archives use 0")
    if out.loss_weights.get("ner", 1) <= 0 or out.loss_weights.get("relation", 1) <= 0:
        raise ValueError(f"RadGraph needs ner and relation modules (loss_weights {out.loss_weights})")
    if out.max_span_width > out.num_width_embeddings:
        raise ValueError("dataset_reader.max_span_width exceeds the model's span-width embedding rows")
    reader_bert = reader.get("token_indexers", {}).get("bert", {})
    if reader_bert and reader_bert.get("model_name", out.model_name) != out.model_name:
        raise ValueError("config.json names different backbones for the token indexer and the embedder")
    return out


@dataclass(frozen=True)
class LabelSpace:
    """The label vocabularies of one dataset inside an archive.

    Args:
        dataset: dataset prefix of the namespaces (``radgraph``, ``radgraph-xl``, ...).
        ner_labels: NER labels by index; index 0 is the null label ``""``.
        relation_labels: relation labels by index (no null entry: the model's null is an extra column).
    """

    dataset: str
    ner_labels: list[str]
    relation_labels: list[str]

    @property
    def ner_namespace(self) -> str:
        """``<dataset>__ner_labels``."""
        return f"{self.dataset}__ner_labels"

    @property
    def relation_namespace(self) -> str:
        """``<dataset>__relation_labels``."""
        return f"{self.dataset}__relation_labels"


def _namespace_match(pattern: str, namespace: str) -> bool:
    return namespace.endswith(pattern[1:]) if pattern.startswith("*") else pattern == namespace


def read_vocabulary(vocab_dir: str | os.PathLike) -> dict[str, list[str]]:
    """Read an AllenNLP ``vocabulary/`` folder: namespace -> tokens by index.

    One token per line; ``@@NEWLINE@@`` stands for a newline; namespaces matching a pattern of
    ``non_padded_namespaces.txt`` (``*labels``, ``*tags``) index from 0, the others get ``@@PADDING@@`` at 0.

    Args:
        vocab_dir: the folder.
    Returns:
        dict namespace -> list of tokens (list index = vocabulary index).
    """
    folder = Path(vocab_dir)
    pad_file = folder / "non_padded_namespaces.txt"
    if not pad_file.is_file():
        raise ValueError(f"{folder} is not an AllenNLP vocabulary folder (no non_padded_namespaces.txt)")
    patterns = [line.strip() for line in pad_file.read_text(encoding="utf-8").splitlines()]
    out: dict[str, list[str]] = {}
    for path in sorted(folder.iterdir()):
        if path.name == pad_file.name or path.name.startswith(".") or not path.is_file():
            continue
        namespace = path.name.replace(".txt", "")
        lines = re.split(r"\n|\r\n", path.read_text(encoding="utf-8"))
        if lines and lines[-1] == "":
            lines = lines[:-1]
        tokens = [t.replace("@@NEWLINE@@", "\n") for t in lines]
        if not any(_namespace_match(p, namespace) for p in patterns if p):
            tokens = ["@@PADDING@@", *tokens]
        out[namespace] = tokens
    return out


def vocabulary_from_lines(vocab: dict[str, list[str]], dataset: str | None) -> LabelSpace:
    """Pick the NER and relation label lists of ``dataset`` out of a vocabulary.

    Args:
        vocab: namespace -> tokens (as :func:`read_vocabulary` returns).
        dataset: dataset prefix; ``None`` takes the only one present.
    Returns:
        :class:`LabelSpace`.
    Raises:
        ValueError: the dataset is missing or ambiguous, or the NER null label is not at index 0.
    """
    datasets = sorted(ns[: -len("__ner_labels")] for ns in vocab if ns.endswith("__ner_labels"))
    if dataset is None or dataset not in datasets:
        if dataset is None and len(datasets) == 1:
            dataset = datasets[0]
        else:
            raise ValueError(f"RadGraph vocabulary has NER datasets {datasets}; cannot use {dataset!r}")
    ner, rel_ns = vocab[f"{dataset}__ner_labels"], f"{dataset}__relation_labels"
    if not ner or ner[0] != "":
        raise ValueError(f"{dataset}__ner_labels must start with the null label '' (got {ner[:1]})")
    if rel_ns not in vocab:
        raise ValueError(f"RadGraph vocabulary lacks {rel_ns}")
    return LabelSpace(dataset, list(ner), list(vocab[rel_ns]))


def peer_head_shapes(cfg: RadGraphConfig, labels: LabelSpace, hidden_size: int) -> dict[str, tuple[int, ...]]:
    """Every non-backbone key of a DyGIE RadGraph ``weights.th`` with its shape, as the peer's modules name them.

    Args:
        cfg: the archive config.
        labels: the label space (namespaces and sizes).
        hidden_size: the backbone's hidden size (token embedding size).
    Returns:
        dict key -> shape (span extractor, NER scorer, relation pruner/feed-forward/scorer, unused coref/events).

    Example:
        >>> cfg = RadGraphConfig("m", 512, 8, 8, 20, (150, 150), 0.5)
        >>> keys = peer_head_shapes(cfg, LabelSpace("radgraph", ["", "A", "B"], ["r"]), 768)
        >>> keys["_ner._ner_scorers.radgraph__ner_labels.1._module.weight"]
        (2, 150)
        >>> keys["_relation._relation_feedforwards.radgraph__relation_labels._linear_layers.0.weight"]
        (150, 4668)
    """
    span = 2 * hidden_size + cfg.feature_size
    dims = cfg.ff_hidden_dims

    def ff(prefix: str, in_dim: int) -> dict[str, tuple[int, ...]]:
        shapes: dict[str, tuple[int, ...]] = {}
        d = in_dim
        for i, h in enumerate(dims):
            shapes[f"{prefix}_linear_layers.{i}.weight"] = (h, d)
            shapes[f"{prefix}_linear_layers.{i}.bias"] = (h,)
            d = h
        return shapes

    ner_ns, rel_ns, last = labels.ner_namespace, labels.relation_namespace, dims[-1]
    s: dict[str, tuple[int, ...]] = {
        "_endpoint_span_extractor._span_width_embedding.weight": (cfg.num_width_embeddings, cfg.feature_size)
    }
    s |= ff(f"_ner._ner_scorers.{ner_ns}.0._module.", span)
    s[f"_ner._ner_scorers.{ner_ns}.1._module.weight"] = (len(labels.ner_labels) - 1, last)
    s[f"_ner._ner_scorers.{ner_ns}.1._module.bias"] = (len(labels.ner_labels) - 1,)
    # coreference module (built, never run: loss weight 0, coref_prop 0)
    s["_coref._distance_embedding.weight"] = (10, cfg.feature_size)
    s |= ff("_coref._antecedent_feedforward._module.", 3 * span + cfg.feature_size)
    s |= ff("_coref._mention_pruner._scorer.0._module.", span)
    s["_coref._mention_pruner._scorer.1._module.weight"] = (1, last)
    s["_coref._mention_pruner._scorer.1._module.bias"] = (1,)
    s["_coref._antecedent_scorer._module.weight"] = (1, last)
    s["_coref._antecedent_scorer._module.bias"] = (1,)
    s["_coref._f_network._linear_layers.0.weight"] = (span, 2 * span)
    s["_coref._f_network._linear_layers.0.bias"] = (span,)
    # relation module
    s |= ff(f"_relation._mention_pruners.{rel_ns}._scorer.0._module.", span)
    s[f"_relation._mention_pruners.{rel_ns}._scorer.1._module.weight"] = (1, last)
    s[f"_relation._mention_pruners.{rel_ns}._scorer.1._module.bias"] = (1,)
    s |= ff(f"_relation._relation_feedforwards.{rel_ns}.", 3 * span)
    s[f"_relation._relation_scorers.{rel_ns}.weight"] = (len(labels.relation_labels), last)
    s[f"_relation._relation_scorers.{rel_ns}.bias"] = (len(labels.relation_labels),)
    # event module (no trigger/argument namespaces in RadGraph: only its distance embedding exists)
    s["_events._distance_embedding.weight"] = (10, cfg.feature_size)
    return s


def peer_to_ours(key: str, labels: LabelSpace) -> str | None:
    """Our parameter name for a peer ``weights.th`` key (``None``: a recognised key we do not use).

    Args:
        key: a peer state-dict key.
        labels: the label space (selects the dataset's namespaces).
    Returns:
        the key in :class:`RadGraphModel`'s state dict, or ``None`` for coref/events/other-dataset keys.
    Raises:
        KeyError: a key the DyGIE RadGraph layout does not have.

    Example:
        >>> lab = LabelSpace("radgraph", [""], [])
        >>> peer_to_ours("_ner._ner_scorers.radgraph__ner_labels.0._module._linear_layers.1.bias", lab)
        'ner_ff.1.bias'
        >>> peer_to_ours(EMBEDDER_PREFIX + "pooler.dense.weight", lab)
        'bert.pooler.dense.weight'
        >>> peer_to_ours("_coref._distance_embedding.weight", lab) is None
        True
    """
    if key.startswith(EMBEDDER_PREFIX):
        return "bert." + key[len(EMBEDDER_PREFIX) :]
    if key == "_endpoint_span_extractor._span_width_embedding.weight":
        return "width_embedding.weight"
    if key.startswith(UNUSED_PREFIXES):
        return None
    ner, rel = re.escape(labels.ner_namespace), re.escape(labels.relation_namespace)
    rules = (
        (rf"_ner\._ner_scorers\.{ner}\.0\._module\._linear_layers\.(\d+)\.(weight|bias)", "ner_ff.{0}.{1}"),
        (rf"_ner\._ner_scorers\.{ner}\.1\._module\.(weight|bias)", "ner_out.{0}"),
        (
            rf"_relation\._mention_pruners\.{rel}\._scorer\.0\._module\._linear_layers\.(\d+)\.(weight|bias)",
            "prune_ff.{0}.{1}",
        ),
        (rf"_relation\._mention_pruners\.{rel}\._scorer\.1\._module\.(weight|bias)", "prune_out.{0}"),
        (rf"_relation\._relation_feedforwards\.{rel}\._linear_layers\.(\d+)\.(weight|bias)", "rel_ff.{0}.{1}"),
        (rf"_relation\._relation_scorers\.{rel}\.(weight|bias)", "rel_out.{0}"),
    )
    for pattern, target in rules:
        m = re.fullmatch(pattern, key)
        if m:
            return target.format(*m.groups())
    if re.fullmatch(r"_(ner|relation)\._[a-z_]+\.[^.]+__(ner|relation)_labels\..*", key):
        return None  # another dataset's head in a multi-dataset archive
    raise KeyError(f"unexpected key in RadGraph weights.th: {key!r}")


# ---------------------------------------------------------------------------------------------- locating archives
def _is_extracted(folder: Path) -> bool:
    return (folder / "config.json").is_file() and (folder / WEIGHTS_FILE).is_file() and (folder / "vocabulary").is_dir()


def extract_archive(archive: str | os.PathLike, dest: str | os.PathLike | None = None) -> Path:
    """Extract a RadGraph ``.tar.gz`` (once) and return the folder holding ``config.json``.

    Args:
        archive: the ``.tar.gz`` path.
        dest: extraction folder (default: ``<archive without .tar.gz>.extracted`` beside it).
    Returns:
        the folder with ``config.json``, ``vocabulary/`` and ``weights.th``.
    """
    archive = Path(archive)
    dest = Path(dest) if dest else archive.with_name(archive.name.removesuffix(".tar.gz") + ".extracted")
    if not _is_extracted(dest):
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(dest, filter="data")
    if _is_extracted(dest):
        return dest
    subdirs = [p for p in dest.iterdir() if p.is_dir() and _is_extracted(p)]
    if len(subdirs) == 1:
        return subdirs[0]
    raise ValueError(f"{archive} does not hold config.json, vocabulary/ and {WEIGHTS_FILE}")


def locate_archive(model: str, model_dir: str | os.PathLike | None = None) -> Path:
    """Folder with the extracted archive of ``model`` (extracting a ``.tar.gz`` on first use).

    Args:
        model: ``"radgraph"`` or ``"radgraph-xl"`` (or any name when ``model_dir`` is given).
        model_dir: explicit ``.tar.gz``, folder holding ``<model>.tar.gz``, or extracted folder.
    Returns:
        the extracted folder.
    Raises:
        ModelNotFoundError: nothing found; the message says what to download and where to put it.
    """
    archive_name = ARCHIVE_FILES.get(model, f"{model}.tar.gz")
    candidates: list[Path] = []
    if model_dir is not None:
        p = Path(model_dir)
        if p.is_file():
            return extract_archive(p)
        if _is_extracted(p):
            return p
        if (p / archive_name).is_file():
            return extract_archive(p / archive_name)
        raise ModelNotFoundError(
            f"{p} is neither a RadGraph archive ({archive_name}) nor an extracted one (config.json, vocabulary/, "
            f"{WEIGHTS_FILE})" + (f"\n{_hint(model)}" if model in ARCHIVE_FILES else "")
        )
    candidates += [models_dir() / model, RADGRAPH_PACKAGE_CACHE / model]
    for folder in candidates:
        if _is_extracted(folder):
            return folder
        if (folder / archive_name).is_file():
            return extract_archive(folder / archive_name)
    if model not in ARCHIVE_FILES:
        raise ModelNotFoundError(f"unknown RadGraph model {model!r}; known: {sorted(ARCHIVE_FILES)}, or pass model_dir")
    try:
        folder = resolve_model(model)  # HF cache of StanfordAIMI/RRG_scorers, or raises with instructions
    except ModelNotFoundError as e:
        raise ModelNotFoundError(
            f"{e}\n  also looked in: {RADGRAPH_PACKAGE_CACHE / model} (radgraph package "
            "cache; an extracted folder there is used as is)"
        ) from None
    return extract_archive(
        folder / archive_name, models_dir() / model / (archive_name.removesuffix(".tar.gz") + ".extracted")
    )


def archive_present(model: str, model_dir: str | os.PathLike | None = None) -> Path:
    """Where :func:`locate_archive` would find ``model``, without extracting anything (the preflight's check).

    Raises:
        ModelNotFoundError: as :func:`locate_archive`.
    """
    archive_name = ARCHIVE_FILES.get(model, f"{model}.tar.gz")
    if model_dir is not None:
        p = Path(model_dir)
        if p.is_file() or _is_extracted(p) or (p / archive_name).is_file():
            return p
        return locate_archive(model, p)  # raises with locate_archive's message
    for folder in (models_dir() / model, RADGRAPH_PACKAGE_CACHE / model):
        if _is_extracted(folder) or (folder / archive_name).is_file():
            return folder
    try:
        return resolve_model(model)
    except ModelNotFoundError as e:
        raise ModelNotFoundError(
            f"{e}\n  also looked in: {RADGRAPH_PACKAGE_CACHE / model} (radgraph package cache)"
        ) from None


for _name in ARCHIVE_FILES:
    register_locator(_name, archive_present)


def _hint(model: str) -> str:
    return (
        f"  get it with `radgrpo models download {model}` (hub {RRG_SCORERS_REPO}, file {ARCHIVE_FILES[model]}) "
        f"into {models_dir() / model}"
    )


def locate_backbone(model_name: str, backbone_dir: str | os.PathLike | None = None) -> Path:
    """Folder with the backbone's ``config.json`` and tokenizer files.

    Args:
        model_name: the backbone id from the archive's config (hub id or local path).
        backbone_dir: explicit folder (must hold ``config.json`` and ``vocab.txt``).
    Returns:
        the folder.
    Raises:
        ModelNotFoundError: with download instructions.
    """
    if backbone_dir is not None:
        folder = Path(backbone_dir)
        missing = [f for f in BACKBONE_FILES if not (folder / f).is_file()]
        if missing:
            raise ModelNotFoundError(f"backbone folder {folder} for {model_name!r} lacks {missing}")
        return folder
    for name, hub_id in BACKBONE_IDS.items():
        if hub_id == model_name:
            return resolve_model(f"{name}-backbone")
    if Path(model_name).is_dir():
        return Path(model_name)
    return resolve_model(model_name)


def num_spans_to_keep(n_words: int, spans_per_word: float) -> int:
    """The relation pruner's beam: ``ceil(n_words * spans_per_word)``, computed in float32 as the peer's torch code.

    Example:
        >>> num_spans_to_keep(7, 0.5)
        4
    """
    import numpy as np

    return math.ceil(float(np.float32(n_words) * np.float32(spans_per_word)))


def load_config(folder: str | os.PathLike) -> RadGraphConfig:
    """:func:`parse_config` of ``folder/config.json``."""
    return parse_config(json.loads((Path(folder) / "config.json").read_text(encoding="utf-8")))
