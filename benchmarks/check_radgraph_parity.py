"""Parity of radgrpo's RadGraph with the ``radgraph`` package on the real archives (run on a connected machine).

The ``radgraph`` package (0.1.18) only runs on transformers < 5 and needs the hub; radgrpo runs on transformers 5.
So parity is checked in two steps that may use two Python environments:

1. In an environment with ``pip install radgraph==0.1.18 "transformers<4.45"`` and internet (or a filled radgraph
   cache), dump the package's annotations and F1RadGraph rewards::

       python benchmarks/check_radgraph_parity.py dump-peer --model radgraph --out peer_radgraph.json
       python benchmarks/check_radgraph_parity.py dump-peer --model radgraph-xl --out peer_radgraph-xl.json

   (this imports only ``radgraph`` and the standard library; radgrpo is not needed there).
2. In radgrpo's environment, with the archives and backbones placed (``radgrpo models download radgraph``,
   ``radgraph-backbone``, ``radgraph-xl``, ``radgraph-xl-backbone``; or ``--model-dir`` pointing at the package's
   cache ``~/.cache/radgraph/0.1.18/<model>`` and ``--backbone-dir`` at the backbone snapshot)::

       python benchmarks/check_radgraph_parity.py compare --model radgraph --peer peer_radgraph.json
       python benchmarks/check_radgraph_parity.py expected            # the recorded values, no peer needed

``compare`` prints every report whose annotation differs (entities, labels, relations) and every F1 that differs,
and exits 1 on any difference. ``expected`` checks the peer test-suite values recorded below in
``V1_EXPECTED`` and ``XL_EXPECTED_MEANS`` (radgraph tests/radgraph_test.py and the README's XL example).
Reports used: the peer's own test reports plus ``--reports FILE`` (one report per line) if given.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

V1_REFS = [
    "no acute cardiopulmonary abnormality",
    "et tube terminates 2 cm above the carina retraction by several centimeters is recommended for more "
    "optimal placement bibasilar consolidations better assessed on concurrent chest ct",
    "there is no significant change since the previous exam the feeding tube and nasogastric tube have been removed",
    "unchanged mild pulmonary edema no radiographic evidence pneumonia",
    "no evidence of acute pulmonary process moderately large size hiatal hernia",
    "no acute intrathoracic process",
]
V1_HYPS = [
    "no acute cardiopulmonary abnormality",
    "endotracheal tube terminates 2 5 cm above the carina bibasilar opacities likely represent atelectasis or "
    "aspiration",
    "there is no significant change since the previous exam",
    "unchanged mild pulmonary edema and moderate cardiomegaly",
    "no evidence of acute cardiopulmonary process moderate hiatal hernia",
    "no acute cardiopulmonary process",
]
V1_EXPECTED = (
    [1.0, 0.4, 0.5714285714285715, 0.8, 0.5714285714285715, 0.4],
    [1.0, 0.26666666666666666, 0.5714285714285715, 0.4, 0.42857142857142855, 0.4],
    [1.0, 0.23529411764705885, 0.5714285714285715, 0.4, 0.4, 0.4],
)
V1_ANNOTATION_TEXT = "no evidence of acute cardiopulmonary process moderate hiatal hernia"
V1_ANNOTATION_ENTITIES = [
    ("acute", "OBS-DA", 3, []),
    ("cardiopulmonary", "ANAT-DP", 4, []),
    ("process", "OBS-DA", 5, [["located_at", "2"]]),
    ("moderate", "OBS-DP", 6, []),
    ("hiatal", "ANAT-DP", 7, []),
    ("hernia", "OBS-DP", 8, []),
]
XL_HYPS = ["no acute cardiopulmonary abnormality", "et tube terminates 2 cm above the carina and bibasilar opacities"]
XL_REFS = [
    "no acute cardiopulmonary abnormality",
    "endotracheal tube is present and bibasilar opacities likely represent mild atelectasis",
]
XL_EXPECTED_MEANS = (0.75, 0.6666666666666666, 0.6538461538461539)
RADEVAL_REPORTS = [
    "No acute cardiopulmonary process.",
    "No radiographic findings to suggest pneumonia.",
    "Small bilateral pleural effusions with bibasilar atelectasis.",
    "Mild cardiomegaly. No pleural effusion.",
    "Increased mild pulmonary edema and left basal atelectasis.",
    "",
    "No acute findings.",
]


def _reports(extra: str | None) -> list[str]:
    texts = V1_REFS + V1_HYPS + XL_REFS + XL_HYPS + RADEVAL_REPORTS
    if extra:
        texts += [line.rstrip("\n") for line in Path(extra).read_text(encoding="utf-8").splitlines()]
    return list(dict.fromkeys(texts))


def dump_peer(args) -> int:
    from radgraph import F1RadGraph, RadGraph  # the peer package

    texts = _reports(args.reports)
    rg = RadGraph(model_type=args.model)
    annotations = {t: rg([t])["0"] for t in texts}
    f1 = F1RadGraph(reward_level="all", model_type=args.model)
    _, rewards, _, _ = f1(refs=V1_REFS, hyps=V1_HYPS)
    Path(args.out).write_text(
        json.dumps(
            {"model": args.model, "annotations": annotations, "f1_refs": V1_REFS, "f1_hyps": V1_HYPS, "f1_all": rewards}
        )
    )
    print(f"wrote {len(annotations)} peer annotations to {args.out}")
    return 0


def _ours(args):
    from radgrpo.metrics.text.radgraph_model.model import load_radgraph

    return load_radgraph(
        args.model, model_dir=args.model_dir, backbone_dir=args.backbone_dir, batch_size=args.batch_size
    )


def compare(args) -> int:
    from radgrpo.metrics.text.radgraph import RadGraphScorer

    peer = json.loads(Path(args.peer).read_text(encoding="utf-8"))
    texts = list(peer["annotations"])
    ours = _ours(args).annotate(texts)
    bad = 0
    for text, mine in zip(texts, ours):
        theirs = peer["annotations"][text]
        if mine["text"] != theirs["text"] or mine["entities"] != theirs["entities"]:
            bad += 1
            print(f"DIFF {text!r}\n  peer: {json.dumps(theirs['entities'])}\n  ours: {json.dumps(mine['entities'])}")
    scorer = RadGraphScorer(args.model, args.model_dir, args.backbone_dir, batch_size=args.batch_size)
    got = scorer(peer["f1_refs"], peer["f1_hyps"])
    for i, level in enumerate(("simple", "partial", "complete")):
        if got[level].tolist() != list(peer["f1_all"][i]):
            bad += 1
            print(f"F1 {level}: peer {peer['f1_all'][i]} ours {got[level].tolist()}")
    print(f"{len(texts)} reports compared, {bad} differences")
    return 1 if bad else 0


def expected(args) -> int:
    from radgrpo.metrics.text.radgraph import RadGraphScorer

    bad = 0
    v1 = RadGraphScorer("radgraph", args.model_dir_v1, args.backbone_dir_v1, batch_size=args.batch_size)
    ann = v1.annotate([V1_ANNOTATION_TEXT])[0]
    got = [(e["tokens"], e["label"], e["start_ix"], e["relations"]) for e in ann["entities"].values()]
    want = [tuple(x) for x in V1_ANNOTATION_ENTITIES]
    print("v1 annotation:", "OK" if got == want else f"DIFF {got}")
    bad += got != want
    out = v1(V1_REFS, V1_HYPS)
    for i, level in enumerate(("simple", "partial", "complete")):
        ok = out[level].tolist() == V1_EXPECTED[i]
        bad += not ok
        print(f"v1 6-pair {level}: {'OK' if ok else 'DIFF'} {out[level].tolist()}")
    xl = RadGraphScorer("radgraph-xl", args.model_dir_xl, args.backbone_dir_xl, batch_size=args.batch_size)
    res = xl(XL_REFS, XL_HYPS)
    means = tuple(float(res[lv].mean()) for lv in ("simple", "partial", "complete"))
    ok = all(abs(a - b) < 1e-12 for a, b in zip(means, XL_EXPECTED_MEANS))
    bad += not ok
    print(f"XL README means: {'OK' if ok else 'DIFF'} {means} (expected {XL_EXPECTED_MEANS})")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump-peer")
    d.add_argument("--model", default="radgraph-xl")
    d.add_argument("--out", required=True)
    d.add_argument("--reports")
    c = sub.add_parser("compare")
    c.add_argument("--model", default="radgraph-xl")
    c.add_argument("--peer", required=True)
    c.add_argument("--model-dir")
    c.add_argument("--backbone-dir")
    c.add_argument("--batch-size", type=int, default=16)
    e = sub.add_parser("expected")
    for name in ("model-dir-v1", "backbone-dir-v1", "model-dir-xl", "backbone-dir-xl"):
        e.add_argument(f"--{name}")
    e.add_argument("--batch-size", type=int, default=16)
    args = p.parse_args(argv)
    return {"dump-peer": dump_peer, "compare": compare, "expected": expected}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
