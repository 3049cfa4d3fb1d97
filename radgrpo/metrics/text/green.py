r"""GREEN: an LLM judge that counts a candidate report's clinically significant errors against a reference report.

What it is: GREEN (Ostmeier et al., "GREEN: Generative Radiology Report Evaluation and Error Notation", EMNLP
Findings 2024; Stanford-AIMI/GREEN; docs/metrics.md#green) asks a judge LLM (by default the fine-tuned
``StanfordAIMI/GREEN-radllama2-7b``) to list, for one (reference, candidate) pair, the clinically significant errors
of six kinds (a)-(f), the clinically insignificant ones, and the matched findings, in a fixed text format. The score
is read off that text with the published rule

    GREEN = matched / (matched + sum of significant errors (a)..(f)),   0 when matched = 0,

so it lies in [0, 1], higher is better. This module holds the published prompt (:func:`make_green_prompt`, data
kept verbatim because the GREEN models were trained on it), the parser (:func:`parse_green`), a scorer with two
backends (:class:`GreenScorer`: a local Hugging Face causal LM, or any OpenAI-compatible
``/v1/chat/completions`` endpoint) and the evaluation entry point :func:`score_green`.

What it is not: a deterministic metric of the reports alone. The score is whatever the judge wrote, so it depends on
the judge model, its weights' dtype and the serving stack; numbers are only comparable with the same judge. It is
not GREEN's summary (the sentence-transformers clustering of error sentences is not reproduced), and with a random
or general-purpose model it is not GREEN at all (the tests use a random model only to exercise the code path).

Behaviour of the reference kept (green_score 0.0.12, commit d72c195): the prompt template; each report cut to its
first 300 whitespace-separated words and re-joined with single spaces (``make_prompt(max_len=300)``); the chat
format ``<|user|>\n{prompt}</s>\n<|assistant|>\n</s>\n<|assistant|>\n`` (their Jinja template
:data:`GREEN_CHAT_TEMPLATE` applied to a human turn and an empty gpt turn with ``add_generation_prompt``) with the
tokenizer's BOS and an appended EOS (``add_eos_token=True``); left padding with pad = EOS; greedy decoding; prompt +
completion at most 2048 tokens; batch size 8; the parsing rules (a section runs from its ``[Header]:`` to the next
blank line; a section starting with "No" counts 0; sub-items ``(a) ``-``(f) `` or, when none, ``(1) ``-``(6) ``; an
item's count is the first integer after ": " followed by "."; a listed item without a count and an absent item count
0; matched findings are the integer followed by "." at the start of the section).

Differences, on purpose:
    * **Unparseable outputs are counted, not scored.** A completion without a readable
      ``[Clinically Significant Errors]`` section (absent, empty, or neither "No..." nor (a)-(f) items) or without a
      readable ``[Matched Findings]`` count gets ``score = None`` (NaN in :func:`score_green`) and is left out of
      the mean. The reference scores such text 0, or 1.0 when only the error section is missing (its ``None``
      branch is unreachable); :attr:`GreenParse.reference_score` gives that value for comparison with published
      numbers. On every completion in GREEN's format the two agree.
    * Only the generated tokens are decoded (the reference decodes prompt + completion and cuts at the last
      ``<|assistant|>``); the parse does not depend on the ``[Explanation]`` text, so scores are the same.
    * Each pair's generation budget is ``2048 - its own prompt length`` (the reference's ``max_length`` counts the
      batch's padded length, so a short prompt next to a long one got fewer tokens). With greedy decoding a pair's
      completion therefore does not depend on the other pairs in the call, up to floating point: padded batches
      change the kernels' reduction shapes, and in float16 a near-tie between two tokens can flip (RadEval notes
      such run-to-run spread); ``batch_size=1`` removes this. A prompt of 2048 tokens or more is not generated
      (counted as failed; the reference truncated it from the right).
    * Duplicate items of one letter: the first is used (the reference keeps the lexicographically last).

Example:
    >>> p = parse_green("[Clinically Significant Errors]:\n"
    ...                 "(a) False report of a finding in the candidate: 1. Small effusion.\n"
    ...                 "(b) Missing a finding present in the reference: 0.\n\n"
    ...                 "[Matched Findings]:\n3. Cardiomegaly; Edema; No pneumothorax.")
    >>> p.matched, p.significant, p.score
    (3, (1, 0, 0, 0, 0, 0), 0.75)
    >>> q = parse_green("The reports agree.")
    >>> q.score is None, q.problem, q.reference_score
    (True, 'no [Clinically Significant Errors] section', 0.0)
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from radgrpo.metrics.loaders import (
    HF_WEIGHTS,
    MODEL_SPECS,
    ModelNotFoundError,
    ModelSpec,
    register_model,
    resolve_model,
)

#: the default judge (Llama-2-7B fine-tuned by the GREEN authors on :data:`GREEN_PROMPT_TEMPLATE`)
GREEN_MODEL = "StanfordAIMI/GREEN-radllama2-7b"
GREEN_SPEC = register_model(
    ModelSpec(
        name="GREEN-radllama2-7b",
        hub_repo=GREEN_MODEL,
        files=("config.json", "tokenizer_config.json"),
        used_by=("green",),
        note="GREEN judge LLM (Llama-2-7B fine-tuned on GREEN's prompt; float16 weights ~13.5 GB, a GPU is advised)",
        weights=HF_WEIGHTS,
    )
)

#: generation limit of the reference: prompt + completion tokens
MAX_LENGTH = 2048
#: each report is cut to this many whitespace-separated words (reference ``make_prompt(max_len=300)``)
MAX_WORDS = 300
BATCH_SIZE = 8

CATEGORIES = ("Clinically Significant Errors", "Clinically Insignificant Errors", "Matched Findings")
#: the six error kinds, in the order of the counts in :attr:`GreenParse.significant`
ERROR_KINDS = (
    "(a) False report of a finding in the candidate",
    "(b) Missing a finding present in the reference",
    "(c) Misidentification of a finding's anatomic location/position",
    "(d) Misassessment of the severity of a finding",
    "(e) Mentioning a comparison that isn't in the reference",
    "(f) Omitting a comparison detailing a change from a prior study",
)

# The GREEN prompt, verbatim from Stanford-AIMI/GREEN green_score/utils.py ``make_prompt`` (commit d72c195,
# green_score 0.0.12; by the GREEN authors, S. Ostmeier, J.-B. Delbrouck et al.), its two slots renamed {reference}
# and {candidate}. Kept as data: the GREEN models were fine-tuned on exactly this text, indentation included.
GREEN_PROMPT_TEMPLATE = """\
Objective: Evaluate the accuracy of a candidate radiology report in comparison to a reference radiology report \
composed by expert radiologists.

    Process Overview: You will be presented with:

    1. The criteria for making a judgment.
    2. The reference radiology report.
    3. The candidate radiology report.
    4. The desired format for your assessment.

    1. Criteria for Judgment:

    For each candidate report, determine:

    The count of clinically significant errors.
    The count of clinically insignificant errors.

    Errors can fall into one of these categories:

    a) False report of a finding in the candidate.
    b) Missing a finding present in the reference.
    c) Misidentification of a finding's anatomic location/position.
    d) Misassessment of the severity of a finding.
    e) Mentioning a comparison that isn't in the reference.
    f) Omitting a comparison detailing a change from a prior study.
    Note: Concentrate on the clinical findings rather than the report's writing style. Evaluate only the findings \
that appear in both reports.

    2. Reference Report:
    {reference}

    3. Candidate Report:
    {candidate}

    4. Reporting Your Assessment:

    Follow this specific format for your output, even if no errors are found:
    ```
    [Explanation]:
    <Explanation>

    [Clinically Significant Errors]:
    (a) <Error Type>: <The number of errors>. <Error 1>; <Error 2>; ...; <Error n>
    ....
    (f) <Error Type>: <The number of errors>. <Error 1>; <Error 2>; ...; <Error n>

    [Clinically Insignificant Errors]:
    (a) <Error Type>: <The number of errors>. <Error 1>; <Error 2>; ...; <Error n>
    ....
    (f) <Error Type>: <The number of errors>. <Error 1>; <Error 2>; ...; <Error n>

    [Matched Findings]:
    <The number of matched findings>. <Finding 1>; <Finding 2>; ...; <Finding n>
    ```
"""

#: the reference's chat template (Jinja, same source; also its training template). Serve the judge with it, e.g.
#: vLLM ``--chat-template``, for the openai backend to see GREEN's format; :func:`format_green_chat` renders it.
GREEN_CHAT_TEMPLATE = (
    "{% for message in messages %}\n{% if message['from'] == 'human' %}\n{{ '<|user|>\n' + message['value'] + "
    "eos_token }}\n{% elif message['from'] == 'system' %}\n{{ '<|system|>\n' + message['value'] + eos_token }}\n"
    "{% elif message['from'] == 'gpt' %}\n{{ '<|assistant|>\n'  + message['value'] + eos_token }}\n{% endif %}\n"
    "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}"
)


def make_green_prompt(reference: str, candidate: str, max_words: int | None = MAX_WORDS) -> str:
    """GREEN's judge prompt for one pair (each report cut to ``max_words`` words, whitespace collapsed).

    Args:
        reference: the reference (ground-truth) report.
        candidate: the generated report.
        max_words: word limit per report (the reference's 300); None keeps the texts unchanged.
    Returns:
        the prompt text (the user turn).

    Example:
        >>> p = make_green_prompt("No  acute\\nprocess.", "Mild edema.")
        >>> p.startswith("Objective: Evaluate the accuracy"), "Reference Report:\\n    No acute process.\\n" in p
        (True, True)
    """
    if max_words is not None:
        reference = " ".join(reference.split()[:max_words])
        candidate = " ".join(candidate.split()[:max_words])
    return GREEN_PROMPT_TEMPLATE.format(reference=reference, candidate=candidate)


def format_green_chat(prompt: str, eos_token: str = "</s>") -> str:
    """The text the reference gives its tokenizer: :data:`GREEN_CHAT_TEMPLATE` on [human ``prompt``, empty gpt turn].

    Args:
        prompt: from :func:`make_green_prompt`.
        eos_token: the tokenizer's EOS text.
    Returns:
        ``<|user|>\\n{prompt}{eos}\\n<|assistant|>\\n{eos}\\n<|assistant|>\\n``.

    Example:
        >>> format_green_chat("P")
        '<|user|>\\nP</s>\\n<|assistant|>\\n</s>\\n<|assistant|>\\n'
    """
    return f"<|user|>\n{prompt}{eos_token}\n<|assistant|>\n{eos_token}\n<|assistant|>\n"


# ---------------------------------------------------------------------------------------------------- parsing
_HEADER_RE = re.compile(
    r"\[(?:Explanation|Clinically Significant Errors|Clinically Insignificant Errors|"
    r"Matched Findings)\]:"
)
_BLANK_LINE_RE = re.compile(r"\n\s*\n")
_COUNT_RE = re.compile(r": (\d+)(?=\.)")


@dataclass(frozen=True)
class GreenParse:
    """The counts read from one GREEN completion.

    Attributes:
        matched: number of matched findings; None when unreadable.
        significant: clinically significant error counts (a)..(f) (:data:`ERROR_KINDS` order); None when unreadable.
        insignificant: clinically insignificant error counts (a)..(f); None when unreadable (not used by the score).
        problem: why the completion is unparseable; None when it is parseable.
    """

    matched: int | None
    significant: tuple[int, ...] | None
    insignificant: tuple[int, ...] | None
    problem: str | None = None

    @property
    def parseable(self) -> bool:
        """Both the significant errors and the matched findings were read."""
        return self.matched is not None and self.significant is not None

    @property
    def n_significant(self) -> int | None:
        """Sum of the significant error counts."""
        return None if self.significant is None else sum(self.significant)

    @property
    def n_insignificant(self) -> int | None:
        """Sum of the insignificant error counts."""
        return None if self.insignificant is None else sum(self.insignificant)

    @property
    def score(self) -> float | None:
        """GREEN = matched / (matched + significant); 0.0 when matched is 0; None when unparseable."""
        matched, significant = self.matched, self.significant
        if matched is None or significant is None:  # not parseable
            return None
        if matched == 0:
            return 0.0
        return matched / (matched + sum(significant))

    @property
    def reference_score(self) -> float:
        """What green_score's ``compute_green`` returns: unreadable counts taken as 0 (so never None)."""
        matched = self.matched or 0
        if matched == 0:
            return 0.0
        return matched / (matched + (self.n_significant or 0))


def _section(text: str, name: str) -> str | None:
    """Body of ``[name]:`` up to the next blank line or header; None when the header is absent."""
    m = re.search(r"\[" + re.escape(name) + r"\]:", text)
    if m is None:
        return None
    rest = text[m.end() :].lstrip()
    end = len(rest)
    for stop in (_BLANK_LINE_RE.search(rest), _HEADER_RE.search(rest)):
        if stop is not None:
            end = min(end, stop.start())
    return rest[:end].strip()


def _error_counts(body: str | None) -> tuple[int, ...] | None:
    """Counts (a)..(f) of an error section body; None when there is nothing readable."""
    if not body:
        return None
    if body.startswith("No"):
        return (0,) * 6
    # `keys` is read after the loop: the key alphabet of the pattern that matched
    for keys, pattern in (("abcdef", r"\(([a-f])\) (.*)"), ("123456", r"\(([1-6])\) (.*)")):  # noqa: B007
        items = re.findall(pattern, body)
        if items:
            break
    else:
        return None
    counts = [0] * 6
    seen: set[int] = set()
    for key, rest in items:
        pos = keys.index(key)
        if pos in seen:
            continue
        seen.add(pos)
        m = _COUNT_RE.search(rest)
        if m:
            counts[pos] = int(m.group(1))
    return tuple(counts)


def parse_green(completion: str) -> GreenParse:
    """Read the counts of one GREEN completion (rules in the module docstring).

    Args:
        completion: the judge's text (an ``[Explanation]`` part, ``</s>`` and leading ``:`` are harmless).
    Returns:
        the counts; ``.score`` is the GREEN value or None when unparseable.

    Example:
        >>> parse_green("[Clinically Significant Errors]:\\nNone.\\n\\n[Matched Findings]:\\n0.").score
        0.0
        >>> parse_green("[Clinically Significant Errors]:\\n(1) False report: 2.\\n\\n"
        ...             "[Matched Findings]:\\n2. A; B").score
        0.5
    """
    text = (completion or "").replace("\r\n", "\n")
    significant = _error_counts(_section(text, CATEGORIES[0]))
    insignificant = _error_counts(_section(text, CATEGORIES[1]))
    matched_body = _section(text, CATEGORIES[2])
    matched: int | None = None
    if matched_body is not None:
        m = re.match(r"(\d+)\.", matched_body)
        matched = int(m.group(1)) if m else (0 if matched_body.startswith("No") else None)
    problem = None
    if significant is None:
        problem = (
            f"no [{CATEGORIES[0]}] section"
            if _section(text, CATEGORIES[0]) is None
            else f"[{CATEGORIES[0]}] has no readable (a)-(f) items"
        )
    elif matched is None:
        problem = (
            f"no [{CATEGORIES[2]}] section"
            if matched_body is None
            else f"[{CATEGORIES[2]}] does not start with a count"
        )
    return GreenParse(matched, significant, insignificant, problem)


# ---------------------------------------------------------------------------------------------------- results
@dataclass
class GreenResult:
    """GREEN on N pairs.

    Attributes:
        scores: per pair, the GREEN value or None (unparseable completion or failed request).
        completions: per pair, the judge's text (only the generated part); None when no completion was obtained.
        prompts: per pair, the exact text given to the judge (hf: the chat-formatted text before tokenization;
            openai: the user message).
        parses: per pair, the :class:`GreenParse` (None when there is no completion).
        errors: per pair, why no completion was obtained (None when one was).
    """

    scores: list[float | None]
    completions: list[str | None]
    prompts: list[str]
    parses: list[GreenParse | None]
    errors: list[str | None]

    @property
    def n_failed(self) -> int:
        """Pairs without a completion (request failed, prompt too long)."""
        return sum(c is None for c in self.completions)

    @property
    def n_unparseable(self) -> int:
        """Pairs whose completion could not be parsed."""
        return sum(p is not None and not p.parseable for p in self.parses)

    @property
    def n_scored(self) -> int:
        """Pairs with a score."""
        return sum(s is not None for s in self.scores)

    @property
    def mean(self) -> float | None:
        """Mean GREEN over the scored pairs (None when none)."""
        vals = [s for s in self.scores if s is not None]
        return float(np.mean(vals)) if vals else None

    @property
    def std(self) -> float | None:
        """Population standard deviation over the scored pairs (the reference's ``np.std``)."""
        vals = [s for s in self.scores if s is not None]
        return float(np.std(vals)) if vals else None

    def as_array(self) -> np.ndarray:
        """float64 scores, NaN where there is none."""
        return np.array([np.nan if s is None else s for s in self.scores], dtype=np.float64)


# ---------------------------------------------------------------------------------------------------- backends
class _HFBackend:
    """A local causal LM: batched greedy generation with left padding (loaded on first use)."""

    def __init__(
        self,
        model: str,
        model_dir: str | os.PathLike | None,
        device: str | None,
        dtype: str | None,
        batch_size: int,
        max_length: int,
        max_new_tokens: int | None,
        append_eos: bool,
        trust_remote_code: bool,
    ) -> None:
        if dtype not in (None, "float32", "float16", "bfloat16"):
            raise ValueError(f"dtype must be float32, float16 or bfloat16, got {dtype!r}")
        self.name = next((s.name for s in MODEL_SPECS.values() if s.hub_repo == model), model)
        self.folder = resolve_model(self.name, model_dir)  # fails now, with the download instructions
        self.device_name, self.dtype = device, dtype
        self.batch_size, self.max_length, self.max_new_tokens = batch_size, max_length, max_new_tokens
        self.append_eos, self.trust_remote_code = append_eos, trust_remote_code
        self.model: Any = None
        self.tokenizer: Any = None

    def load(self) -> None:
        if self.model is not None:
            return
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = torch.device(self.device_name or ("cuda" if torch.cuda.is_available() else "cpu"))
        dtype = self.dtype or ("float16" if device.type == "cuda" else "float32")
        major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
        dtype_kw = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
        try:
            tok = AutoTokenizer.from_pretrained(
                str(self.folder), padding_side="left", trust_remote_code=self.trust_remote_code
            )
            net = AutoModelForCausalLM.from_pretrained(
                str(self.folder), trust_remote_code=self.trust_remote_code, **{dtype_kw: getattr(torch, dtype)}
            )
        except OSError as e:
            raise ModelNotFoundError(
                f"could not load the GREEN judge {self.name!r} from {self.folder}: {e}\n"
                f"  the folder needs config.json, the tokenizer files and the weights; on a "
                f"connected machine: radgrpo models download {GREEN_SPEC.name}"
            ) from e
        if tok.eos_token_id is None:
            raise ValueError(f"the tokenizer in {self.folder} has no EOS token (GREEN pads and ends with it)")
        self.device = device
        # PreTrainedModel.to is decorated with functools.wraps, whose typeshed type does not bind `self` as a method
        self.model = net.to(device).eval()  # type: ignore[arg-type]
        self.tokenizer = tok

    def chat_text(self, prompt: str) -> str:
        return format_green_chat(prompt, self.tokenizer.eos_token)

    def encode(self, text: str) -> list[int]:
        ids = list(self.tokenizer(text, add_special_tokens=True)["input_ids"])
        eos = self.tokenizer.eos_token_id
        if self.append_eos and (not ids or ids[-1] != eos):
            ids.append(eos)
        return ids

    def generate(self, prompts: Sequence[str]) -> tuple[list[str], list[str | None], list[str | None]]:
        """Chat texts, completions (None when not generated) and errors."""
        import torch

        self.load()
        texts = [self.chat_text(p) for p in prompts]
        ids = [self.encode(t) for t in texts]
        eos = self.tokenizer.eos_token_id
        completions: list[str | None] = [None] * len(ids)
        errors: list[str | None] = [None] * len(ids)
        todo = []
        for i, x in enumerate(ids):
            if len(x) >= self.max_length:
                errors[i] = f"prompt has {len(x)} tokens, no room to generate under max_length={self.max_length}"
            else:
                todo.append(i)
        todo.sort(key=lambda i: -len(ids[i]))  # similar lengths together: less padding
        for start in range(0, len(todo), self.batch_size):
            rows = todo[start : start + self.batch_size]
            width = max(len(ids[i]) for i in rows)
            budgets = [self.max_length - len(ids[i]) for i in rows]
            if self.max_new_tokens is not None:
                budgets = [min(b, self.max_new_tokens) for b in budgets]
            input_ids = torch.tensor([[eos] * (width - len(ids[i])) + ids[i] for i in rows], device=self.device)
            mask = torch.tensor([[0] * (width - len(ids[i])) + [1] * len(ids[i]) for i in rows], device=self.device)
            with torch.inference_mode():
                out = self.model.generate(
                    input_ids=input_ids,
                    attention_mask=mask,
                    do_sample=False,
                    num_beams=1,
                    max_new_tokens=max(budgets),
                    eos_token_id=eos,
                    pad_token_id=eos,
                    temperature=None,
                    top_p=None,
                    top_k=None,
                )
            for r, i in enumerate(rows):
                new = out[r, width : width + budgets[r]].tolist()
                if eos in new:
                    new = new[: new.index(eos)]
                completions[i] = self.tokenizer.decode(new, skip_special_tokens=True)
        return texts, completions, errors


class _OpenAIBackend:
    """An OpenAI-compatible chat endpoint through :class:`radgrpo.chat_client.ChatClient` (bounded concurrency,
    retries, optional on-disk cache); one user message per pair."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None,
        concurrency: int,
        max_retries: int,
        timeout_s: float,
        backoff_s: float,
        cache_dir: str | os.PathLike | None,
        params: dict[str, Any] | None,
    ) -> None:
        from radgrpo.chat_client import ChatClient

        self.client = ChatClient(
            base_url,
            model,
            api_key=api_key,
            cache_dir=cache_dir,
            max_concurrency=concurrency,
            max_retries=max_retries,
            timeout_s=timeout_s,
            backoff_s=backoff_s,
            **(params or {}),
        )
        self.url = self.client.base_url + "/chat/completions"

    @property
    def n_requests(self) -> int:
        return self.client.n_requests

    @property
    def n_cache_hits(self) -> int:
        return self.client.n_cache_hits

    def generate(self, prompts: Sequence[str]) -> tuple[list[str], list[str | None], list[str | None]]:
        texts, errors = self.client.complete_many([[{"role": "user", "content": p}] for p in prompts])
        return list(prompts), texts, errors


# ---------------------------------------------------------------------------------------------------- scorer
BACKENDS = ("hf", "openai")


class GreenScorer:
    """GREEN through a judge LLM: ``scorer(refs, hyps) -> GreenResult``.

    Args:
        model: the judge. hf: a :data:`~radgrpo.metrics.loaders.MODEL_SPECS` name, hub id (default: the GREEN
            judge, found offline by :func:`~radgrpo.metrics.loaders.resolve_model`) or local folder; openai: the
            model name sent in each request.
        backend: ``"hf"`` (local transformers causal LM) or ``"openai"`` (``POST {base_url}/chat/completions``).
        max_words: word limit per report in the prompt (reference 300; None = no limit).
        model_dir, device, dtype: hf: explicit local folder (must hold config.json + tokenizer_config.json);
            ``"cpu"``/``"cuda"`` (None = cuda when available); ``"float16"`` (the reference's, default on cuda),
            ``"bfloat16"`` or ``"float32"`` (default on cpu).
        batch_size, max_length, max_new_tokens: hf: pairs per generate call (reference 8); prompt + completion
            tokens per pair (reference 2048); optional further cap on completion tokens.
        append_eos, trust_remote_code: hf: end the prompt with EOS as the reference's ``add_eos_token=True``
            tokenizer does; passed to transformers (the reference passes True for non-Phi judges).
        base_url, api_key: openai: e.g. ``http://127.0.0.1:8000/v1`` (vLLM started with ``--chat-template`` set to
            :data:`GREEN_CHAT_TEMPLATE`) or any OpenAI-compatible service; bearer token (default
            ``$OPENAI_API_KEY``).
        concurrency, max_retries, timeout_s, backoff_s: openai: simultaneous requests; retries on connection
            errors, 408/409/429 and 5xx (honouring ``Retry-After``); per-request timeout; first retry delay (doubled
            at each retry). Failures are recorded per pair (``errors``), never raised.
        cache_dir, request_params: openai: folder of cached completions keyed by (model, messages, params), None =
            no cache; extra body fields (default ``{"temperature": 0.0}``; e.g. ``max_tokens``).

    Example:
        >>> GreenScorer(model_dir="/nonexistent")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        radgrpo.metrics.loaders.ModelNotFoundError: model folder /nonexistent given for 'GREEN-radllama2-7b' ...
    """

    def __init__(
        self,
        model: str = GREEN_MODEL,
        *,
        backend: str = "hf",
        max_words: int | None = MAX_WORDS,
        model_dir: str | os.PathLike | None = None,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int = BATCH_SIZE,
        max_length: int = MAX_LENGTH,
        max_new_tokens: int | None = None,
        append_eos: bool = True,
        trust_remote_code: bool = False,
        base_url: str | None = None,
        api_key: str | None = None,
        concurrency: int = 4,
        max_retries: int = 4,
        timeout_s: float = 300.0,
        backoff_s: float = 1.0,
        cache_dir: str | os.PathLike | None = None,
        request_params: dict[str, Any] | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if batch_size < 1 or max_length < 2 or (max_new_tokens is not None and max_new_tokens < 1):
            raise ValueError("batch_size and max_new_tokens must be >= 1 and max_length >= 2")
        self.max_words = max_words
        self.backend_name = backend
        self.backend: _HFBackend | _OpenAIBackend
        if backend == "hf":
            self.backend = _HFBackend(
                model, model_dir, device, dtype, batch_size, max_length, max_new_tokens, append_eos, trust_remote_code
            )
        else:
            if not base_url:
                raise ValueError("backend='openai' needs base_url, e.g. http://127.0.0.1:8000/v1")
            self.backend = _OpenAIBackend(
                base_url, model, api_key, concurrency, max_retries, timeout_s, backoff_s, cache_dir, request_params
            )

    def __call__(self, refs: Sequence[str], hyps: Sequence[str]) -> GreenResult:
        """Judge each (reference, candidate) pair and parse the completions.

        Args:
            refs: reference reports.
            hyps: candidate reports, same length.
        Returns:
            the :class:`GreenResult` (scores, completions, prompts, parses, errors; ``n_unparseable``, ``mean``).
        """
        refs, hyps = _check_pairs(refs, hyps)
        prompts = [make_green_prompt(r, h, self.max_words) for r, h in zip(refs, hyps)]
        if not prompts:
            return GreenResult([], [], [], [], [])
        sent, completions, errors = self.backend.generate(prompts)
        parses = [None if c is None else parse_green(c) for c in completions]
        scores = [None if p is None else p.score for p in parses]
        return GreenResult(scores, completions, sent, parses, errors)


def _check_pairs(refs: Sequence[str], hyps: Sequence[str]) -> tuple[list[str], list[str]]:
    refs, hyps = list(refs), list(hyps)
    if len(refs) != len(hyps):
        raise ValueError(f"refs and hyps must have the same length, got {len(refs)} and {len(hyps)}")
    bad = next(
        (f"{n}[{i}]" for n, ts in (("refs", refs), ("hyps", hyps)) for i, t in enumerate(ts) if not isinstance(t, str)),
        None,
    )
    if bad:
        raise TypeError(f"{bad} is not a str")
    return refs, hyps


_SCORERS: dict[str, GreenScorer] = {}


def score_green(refs: Sequence[str], hyps: Sequence[str], **kwargs: Any) -> np.ndarray:
    """Per-pair GREEN for the evaluation pipeline; NaN where a completion was unparseable or not obtained.

    The scorer (and its loaded judge) is kept per distinct ``kwargs`` for later calls.

    Args:
        refs: reference reports.
        hyps: candidate reports.
        **kwargs: :class:`GreenScorer` arguments (``backend``, ``model``, ``model_dir``, ``base_url``, ...).
    Returns:
        float64 array, shape ``(len(hyps),)``.

    Example:
        >>> score_green([], [], backend="openai", base_url="http://127.0.0.1:9/v1", model="m")
        array([], dtype=float64)
    """
    key = json.dumps(kwargs, sort_keys=True, default=str)
    if key not in _SCORERS:
        _SCORERS[key] = GreenScorer(**kwargs)
    return _SCORERS[key](refs, hyps).as_array()
