"""Tiny random RadGraph archives through the exact load -> batch -> extract path.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/text/radgraph_model/test_model.py

Checks: the archive layout and state-dict key names of the public archives (key list written out below from the peer
source, radgraph 0.1.18 dygie/models/*.py), the output format, determinism, batch invariance (alone vs a batch of 50),
equality with a one-report-at-a-time reference written directly from the peer's algorithm (full ``[a, b, a*b]`` pair
matrix, top-k pruning, long-report folding), missing-archive errors, and the scorer's F1 and reference cache.
"""

import math
import tarfile

import pytest
import torch

from radgrpo.metrics.loaders import ModelNotFoundError
from radgrpo.metrics.text.radgraph import RadGraphScorer, radgraph_f1
from radgrpo.metrics.text.radgraph_model.archive import EMBEDDER_PREFIX, locate_archive
from radgrpo.metrics.text.radgraph_model.model import load_radgraph
from radgrpo.metrics.text.radgraph_model.preprocess import enumerate_spans, normalize_word, tokenize_report
from radgrpo.metrics.text.radgraph_model.tiny import build_tiny_radgraph

REPORTS = [
    "no evidence of acute cardiopulmonary process moderate hiatal hernia",
    "et tube terminates 2 cm above the carina. bibasilar opacities, likely atelectasis or aspiration.",
    "Mild pulmonary edema. Left pleural effusion (small).",
    "heart size is normal",
    "no",
    "",
    "unchanged mild pulmonary edema and moderate cardiomegaly zzqx",
]

# every non-backbone key of a v1 weights.th (dataset "radgraph", 2-layer feed-forwards), from the peer's modules
V1_HEAD_KEYS = sorted(
    [
        "_endpoint_span_extractor._span_width_embedding.weight",
        *[
            f"_ner._ner_scorers.radgraph__ner_labels.0._module._linear_layers.{i}.{p}"
            for i in (0, 1)
            for p in ("weight", "bias")
        ],
        "_ner._ner_scorers.radgraph__ner_labels.1._module.weight",
        "_ner._ner_scorers.radgraph__ner_labels.1._module.bias",
        "_coref._distance_embedding.weight",
        *[f"_coref._antecedent_feedforward._module._linear_layers.{i}.{p}" for i in (0, 1) for p in ("weight", "bias")],
        *[
            f"_coref._mention_pruner._scorer.0._module._linear_layers.{i}.{p}"
            for i in (0, 1)
            for p in ("weight", "bias")
        ],
        "_coref._mention_pruner._scorer.1._module.weight",
        "_coref._mention_pruner._scorer.1._module.bias",
        "_coref._antecedent_scorer._module.weight",
        "_coref._antecedent_scorer._module.bias",
        "_coref._f_network._linear_layers.0.weight",
        "_coref._f_network._linear_layers.0.bias",
        *[
            f"_relation._mention_pruners.radgraph__relation_labels._scorer.0._module._linear_layers.{i}.{p}"
            for i in (0, 1)
            for p in ("weight", "bias")
        ],
        "_relation._mention_pruners.radgraph__relation_labels._scorer.1._module.weight",
        "_relation._mention_pruners.radgraph__relation_labels._scorer.1._module.bias",
        *[
            f"_relation._relation_feedforwards.radgraph__relation_labels._linear_layers.{i}.{p}"
            for i in (0, 1)
            for p in ("weight", "bias")
        ],
        "_relation._relation_scorers.radgraph__relation_labels.weight",
        "_relation._relation_scorers.radgraph__relation_labels.bias",
        "_events._distance_embedding.weight",
    ]
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_radgraph(tmp_path_factory.mktemp("rg"), "radgraph", seed=3, weight_scale=2.0)


@pytest.fixture(scope="module")
def rg(tiny):
    return load_radgraph("radgraph", model_dir=tiny.archive, backbone_dir=tiny.backbone_dir, device="cpu")


@pytest.fixture(scope="module")
def rg_folded(tmp_path_factory):
    t = build_tiny_radgraph(tmp_path_factory.mktemp("rgf"), "radgraph", seed=5, max_length=12, weight_scale=2.0)
    return load_radgraph("radgraph", model_dir=t.folder, backbone_dir=t.backbone_dir, device="cpu")


def test_archive_layout_and_key_names(tiny):
    with tarfile.open(tiny.archive) as tar:
        names = sorted(m.name for m in tar.getmembers() if m.isfile())
    assert names == [
        "config.json",
        "vocabulary/non_padded_namespaces.txt",
        "vocabulary/radgraph__ner_labels.txt",
        "vocabulary/radgraph__relation_labels.txt",
        "weights.th",
    ]
    state = torch.load(tiny.folder / "weights.th", weights_only=True)
    assert sorted(k for k in state if not k.startswith(EMBEDDER_PREFIX)) == V1_HEAD_KEYS
    bert = {k[len(EMBEDDER_PREFIX) :] for k in state if k.startswith(EMBEDDER_PREFIX)}
    assert {
        "embeddings.word_embeddings.weight",
        "encoder.layer.0.attention.self.query.weight",
        "encoder.layer.1.output.LayerNorm.bias",
        "pooler.dense.weight",
    } <= bert
    # feature size 8, 2 * hidden 32 + 8 = 72 span dims; relation FF input 3 * 72
    rel_ff0 = "_relation._relation_feedforwards.radgraph__relation_labels._linear_layers.0.weight"
    assert state[rel_ff0].shape == (16, 216)
    assert state["_ner._ner_scorers.radgraph__ner_labels.1._module.weight"].shape == (4, 16)  # 5 labels - null


def test_output_format(rg):
    out = rg(REPORTS)
    assert list(out) == [str(i) for i in range(len(REPORTS))]
    assert out["5"]["text"] == "None"  # empty string -> "None", as the package
    assert out["2"]["text"] == "Mild pulmonary edema . Left pleural effusion ( small ) ."
    n_ents = n_rels = 0
    for a in out.values():
        assert set(a) == {"text", "entities", "data_source", "data_split"} and a["data_split"] == "inference"
        words = a["text"].split()
        assert list(a["entities"]) == [str(i + 1) for i in range(len(a["entities"]))]
        prev = (-1, -1)
        for e in a["entities"].values():
            assert list(e) == ["tokens", "label", "start_ix", "end_ix", "relations"]
            assert e["label"] in {"ANAT-DP", "OBS-DP", "OBS-U", "OBS-DA"}
            assert 0 <= e["end_ix"] - e["start_ix"] < 4
            assert e["tokens"] == " ".join(words[e["start_ix"] : e["end_ix"] + 1])
            assert (e["start_ix"], e["end_ix"]) > prev  # span order
            prev = (e["start_ix"], e["end_ix"])
            for rel_type, target in e["relations"]:
                assert rel_type in {"located_at", "modify", "suggestive_of"} and target in a["entities"]
            n_rels += len(e["relations"])
        n_ents += len(a["entities"])
    assert n_ents > 10 and n_rels > 3  # the random model is not degenerate


def test_deterministic_and_same_from_tar_and_folder(rg, tiny):
    again = load_radgraph(
        "radgraph", model_dir=locate_archive("radgraph", tiny.archive), backbone_dir=tiny.backbone_dir, device="cpu"
    )
    assert rg(REPORTS) == rg(REPORTS) == again(REPORTS)


def test_batch_invariance_alone_vs_batch_of_50(rg):
    target = REPORTS[1]
    alone = rg.annotate([target], batch_size=1)[0]
    others = [REPORTS[i % len(REPORTS)] + " stable" * (i % 7) for i in range(49)]
    batch = others[:20] + [target] + others[20:]
    assert rg.annotate(batch, batch_size=50)[20] == alone
    assert rg.annotate(batch, batch_size=7)[20] == alone
    assert alone["entities"] and any(e["relations"] for e in alone["entities"].values())


def reference_predict(rg, text):
    """One report at a time, straight from the peer's algorithm (no flat batching, no split first layer)."""
    net, tok = rg.net, rg.tokenizer
    cfg = net.cfg
    words = tokenize_report(text or "None", rg.tokenization)
    pieces, offsets = [], []
    for w in words:
        ids = tok(normalize_word(w), add_special_tokens=False)["input_ids"]
        offsets.append((len(pieces), len(pieces) + len(ids) - 1) if ids else None)
        pieces += ids
    step = cfg.max_length - 2
    chunks = [pieces[i : i + step] for i in range(0, len(pieces), step)]
    content = []
    with torch.no_grad():
        for ch in chunks:  # each segment alone through BERT, no padding
            ids = torch.tensor([[tok.cls_token_id, *ch, tok.sep_token_id]])
            content.append(net.bert(input_ids=ids).last_hidden_state[0, 1:-1])
        content = torch.cat(content)
        word = torch.stack(
            [
                content[a : b + 1].mean(0) if (a, b) != (None, None) else torch.zeros(content.shape[1])
                for a, b in [o or (None, None) for o in offsets]
            ]
        )
        spans = enumerate_spans(len(words), cfg.max_span_width)
        emb = torch.stack([torch.cat([word[s], word[e], net.width_embedding.weight[e - s]]) for s, e in spans])

        def ff(layers, x):
            for layer in layers:
                x = torch.relu(layer(x))
            return x

        ner = net.ner_out(ff(net.ner_ff, emb))
        ner = torch.cat([torch.zeros(len(spans), 1), ner], 1).max(1).indices
        ents = [(*spans[i], net.labels.ner_labels[int(ner[i])]) for i in range(len(spans)) if ner[i] != 0]
        mention = net.prune_out(ff(net.prune_ff, emb))[:, 0]
        keep = math.ceil(len(words) * cfg.spans_per_word)
        top = sorted(mention.topk(keep).indices.tolist())
        a = emb[top]
        k = len(top)
        pair = torch.cat([a[:, None].expand(k, k, -1), a[None].expand(k, k, -1), a[:, None] * a[None]], -1)
        rel = net.rel_out(ff(net.rel_ff, pair)) + mention[top][:, None, None] + mention[top][None, :, None]
        rel = torch.cat([torch.zeros(k, k, 1), rel], -1).max(-1).indices - 1
        rels = [
            (*spans[top[i]], *spans[top[j]], net.labels.relation_labels[int(rel[i, j])])
            for i in range(k)
            for j in range(k)
            if rel[i, j] >= 0
        ]
    return ents, rels


@pytest.mark.parametrize("fixture", ["rg", "rg_folded"])
def test_equals_one_at_a_time_reference(fixture, request):
    model = request.getfixturevalue(fixture)
    docs = model._prepare([tokenize_report(t or "None", model.tokenization) for t in REPORTS])
    batched = model.predict(docs)
    for text, got in zip(REPORTS, batched):
        assert got == reference_predict(model, text), text
    if fixture == "rg_folded":  # reports longer than one 12-wordpiece segment were folded
        assert max(len(d.wordpieces) for d in docs) > 2 * 10  # three segments


def test_whitespace_only_report_has_no_entities(rg):
    assert rg.annotate(["   \n "])[0] == {"text": "", "entities": {}, "data_source": None, "data_split": "inference"}


def test_xl_archive_labels_and_tokenization(tmp_path):
    t = build_tiny_radgraph(tmp_path, "radgraph-xl", seed=1, weight_scale=2.0)
    xl = load_radgraph("radgraph-xl", model_dir=t.archive, backbone_dir=t.backbone_dir, device="cpu")
    a = xl(["Effusion (5%). Stable."])["0"]
    assert a["text"] == "Effusion ( 5 % ) . Stable ."
    assert all("::" in e["label"] for e in a["entities"].values()) and a["entities"]


def test_missing_archive_and_backbone_errors(tmp_path, monkeypatch, tiny):
    monkeypatch.setenv("RADGRPO_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setattr("radgrpo.metrics.text.radgraph_model.archive.RADGRAPH_PACKAGE_CACHE", tmp_path / "none")
    with pytest.raises(ModelNotFoundError) as e:
        locate_archive("radgraph-xl")
    msg = str(e.value)
    assert "radgraph-xl.tar.gz" in msg and "StanfordAIMI/RRG_scorers" in msg
    assert "radgrpo models download radgraph-xl" in msg and str(tmp_path / "models" / "radgraph-xl") in msg
    with pytest.raises(ModelNotFoundError, match="neither a RadGraph archive"):
        locate_archive("radgraph", tmp_path)
    # the archive placed under $RADGRPO_MODELS_DIR/radgraph/ is found and extracted
    (tmp_path / "models" / "radgraph").mkdir(parents=True)
    (tmp_path / "models" / "radgraph" / "radgraph.tar.gz").write_bytes(tiny.archive.read_bytes())
    assert (locate_archive("radgraph") / "weights.th").is_file()
    with pytest.raises(ModelNotFoundError, match="radgrpo-tiny/radgraph-bert"):
        load_radgraph("radgraph", device="cpu")  # the backbone named in config.json is nowhere
    with pytest.raises(ModelNotFoundError, match="lacks"):
        load_radgraph("radgraph", backbone_dir=tmp_path, device="cpu")


def test_unknown_weight_key_is_an_error(tmp_path):
    t = build_tiny_radgraph(tmp_path, "radgraph", seed=0)
    state = torch.load(t.folder / "weights.th", weights_only=True)
    state["_ner.extra_layer.weight"] = torch.zeros(1)
    torch.save(state, t.folder / "weights.th")
    with pytest.raises(ValueError, match="keys the RadGraph layout lacks"):
        load_radgraph("radgraph", model_dir=t.folder, backbone_dir=t.backbone_dir, device="cpu")


def test_scorer_f1_and_reference_cache(tiny, rg):
    scorer = RadGraphScorer("radgraph", model_dir=tiny.archive, backbone_dir=tiny.backbone_dir, device="cpu")
    ref = REPORTS[0]
    hyps = [REPORTS[0], REPORTS[2], "", REPORTS[3], REPORTS[0], REPORTS[6], REPORTS[1], REPORTS[0]]
    out = scorer([ref] * 8, hyps, levels=("simple", "partial", "complete", "radcliq"))
    # the reference once; hypotheses equal to it come from the cache; the other 5 distinct ones (the empty one as
    # "None", needed by radcliq) once each
    assert scorer.parsed == 1 + 5
    ann = rg.annotate([ref] + hyps)
    for level in ("simple", "partial", "complete"):
        expected = radgraph_f1([ann[0]] * 8, ann[1:], level)
        expected[2] = 0.0  # empty hypothesis -> 0 without parsing
        assert out[level].tolist() == expected.tolist()
        assert out[level][0] == out[level][4] == 1.0
    assert out["radcliq"].tolist() == radgraph_f1([ann[0]] * 8, ann[1:], "radcliq").tolist()
    scorer([ref], [REPORTS[4]])
    assert scorer.parsed == 6 + 1  # the cached reference is not parsed again


def test_parity_script_compare_detects_differences(tiny, rg, tmp_path):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[4] / "benchmarks" / "check_radgraph_parity.py"
    spec = importlib.util.spec_from_file_location("check_radgraph_parity", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    texts = REPORTS[:3]
    scorer = RadGraphScorer("radgraph", model_dir=tiny.archive, backbone_dir=tiny.backbone_dir, device="cpu")
    f1 = scorer(mod.V1_REFS, mod.V1_HYPS)
    peer = {
        "annotations": dict(zip(texts, rg.annotate(texts))),
        "f1_refs": mod.V1_REFS,
        "f1_hyps": mod.V1_HYPS,
        "f1_all": [f1[lv].tolist() for lv in ("simple", "partial", "complete")],
    }
    (tmp_path / "peer.json").write_text(__import__("json").dumps(peer))
    argv = [
        "compare",
        "--model",
        "radgraph",
        "--peer",
        str(tmp_path / "peer.json"),
        "--model-dir",
        str(tiny.archive),
        "--backbone-dir",
        str(tiny.backbone_dir),
    ]
    assert mod.main(argv) == 0
    first = peer["annotations"][texts[0]]
    first["entities"]["1"]["label"] = "OBS-U" if first["entities"]["1"]["label"] != "OBS-U" else "OBS-DP"
    (tmp_path / "peer.json").write_text(__import__("json").dumps(peer))
    assert mod.main(argv) == 1
