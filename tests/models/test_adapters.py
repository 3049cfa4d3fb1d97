"""Model adapters (radgrpo.models.adapters): each family's prompt through its real chat template and processor, a
few generated tokens on a real image, and its answers read back into radgrpo's normalised [0, 1] boxes.

- Families in transformers run on tiny random instances built here (Qwen3-VL: the session's ``tiny_model_dir``;
  Qwen2.5-VL, Gemma 3 for MedGemma, LLaVA for LLaVA-Rad: tests/models/tiny_families.py). Nothing is downloaded.
- MAIRA-2 and CheXagent-2 (remote code) and every adapter: example outputs written in each model's published format
  parse to exactly the expected boxes and texts; random text never raises.
- ``resolve_adapter("auto", ...)`` by hub id, folder name and config.json; unknown names; the remote-code opt-in.

Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python -m pytest -q tests/models/test_adapters.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

from radgrpo.config import ConfigError
from radgrpo.models.adapters import (
    ADAPTERS,
    BASELINE_TASKS,
    UnknownAdapterError,
    adapters_help,
    get_adapter,
    is_radgrpo_folder,
    resolve_adapter,
)
from radgrpo.models.adapters.qwen import QWEN3_VL_REPORT_PROMPT
from radgrpo.records import Record

REPORT = Record("r0", "r0.png", "report_generation", "Write a radiology report for this Chest X-ray.", "Clear.")
NODULE = Record("g0", "g0.png", "abnormality_grounding", "Where is the nodule?", "x", target="Nodule")
HEART = Record("g1", "g1.png", "anatomical_grounding", "Show me the heart's location on this CXR.", "x", target="heart")
PHRASE = Record("g2", "g2.png", "phrase_grounding", "Please locate: x", "x", target="Small left pleural effusion")
DETECTION = Record("d0", "d0.png", "detection", "Any abnormalities?", "x")


# ---- prompts: each family's published text, from the record's task and target ----


def test_prompts_are_the_published_strings():
    q3, q25 = get_adapter("qwen3_vl_instruct"), get_adapter("qwen2_5_vl")
    assert q3.prompt(REPORT) == QWEN3_VL_REPORT_PROMPT
    assert "Chext X-ray" in q3.prompt(REPORT)  # the source's typo is kept
    assert q3.prompt(NODULE) == (
        'Locate every object that matches the description "nodule" in the image. Report bbox coordinates in JSON '
        'format. For example: [{"bbox_2d": [x1, y1, x2, y2], "label": "nodule"}]'
    )
    assert get_adapter("qwen3_vl_thinking").prompt(NODULE, thinking=True) == q3.prompt(NODULE)  # no " /think"
    assert q25.prompt(HEART) == "Outline the position of each heart and output all the coordinates in JSON format."
    assert q25.prompt(PHRASE) == "Locate Small left pleural effusion, output its bbox coordinates using JSON format."
    med = get_adapter("medgemma")
    assert med.prompt(REPORT) == "Please succinctly describe the findings for the above chest x-ray."
    assert med.prompt(HEART).startswith("Instructions:\nThe following user query will require outputting bounding")
    assert "Query:\nWhere is the heart? Don't give a final answer without reasoning." in med.prompt(HEART)
    assert med.messages(REPORT)[0] == {
        "role": "system",
        "content": [{"type": "text", "text": "You are an expert radiologist."}],
    }
    maira = get_adapter("maira2")
    assert maira.messages(REPORT)[0]["content"] == [
        {"type": "text", "text": "Given the current frontal image only"},
        {"type": "image"},
        {
            "type": "text",
            "text": " Provide a structured description of the findings in the radiology study in comparison to the "
            "prior frontal image. INDICATION: N/A TECHNIQUE: N/A COMPARISON: N/A",
        },
    ]
    assert maira.messages(PHRASE)[0]["content"][2]["text"] == (
        " Repeat the following finding as a grounded phrase with bounding boxes indicating all locations where it "
        "can be seen in the given chest X-ray image. Finding: Small left pleural effusion"
    )
    chex = get_adapter("chexagent")
    assert chex.prompt(REPORT) == "Write an example findings section for the CXR"
    assert (
        chex.prompt(NODULE)
        == "Locate areas in the chest X-ray where nodule are present, using bounding box coordinates"
    )
    assert chex.prompt(PHRASE) == "Please locate the following phrase: Small left pleural effusion"
    assert get_adapter("llava_rad").prompt(REPORT) == "Describe the findings of the chest x-ray.\n"
    rad = get_adapter("radgrpo")
    assert (
        rad.prompt(NODULE) == "Where is the nodule?"
        and rad.prompt(NODULE, thinking=True) == "Where is the nodule? /think"
    )
    assert rad.prompt(DETECTION) == "Any abnormalities?"  # radgrpo models answer every task with its own question


def test_baselines_refuse_tasks_they_have_no_prompt_for():
    for name in ("qwen3_vl_instruct", "medgemma", "maira2", "chexagent"):
        with pytest.raises(ConfigError, match="has no prompt for task 'detection'"):
            get_adapter(name).prompt(DETECTION)
    with pytest.raises(ConfigError, match="no prompt for task 'abnormality_grounding'.*it answers report_generation"):
        get_adapter("llava_rad").prompt(NODULE)
    no_target = Record("g9", "g9.png", "phrase_grounding", "Locate it", "x")
    with pytest.raises(ConfigError, match="'g9' .* has no `target`"):
        get_adapter("qwen2_5_vl").prompt(no_target)
    with pytest.raises(ConfigError) as e:
        get_adapter("llava_rad").check(tasks=["report_generation", "phrase_grounding", "detection"], thinking=True)
    assert str(e.value) == (
        "model adapter 'llava_rad': no prompt for task(s) detection, phrase_grounding (it answers report_generation; "
        "select them with --tasks); this family cannot think: drop --thinking (or use a thinking model's adapter)"
    )
    get_adapter("qwen3_vl_thinking").check(tasks=BASELINE_TASKS, thinking=True)  # fine: it thinks natively
    get_adapter("radgrpo").check(tasks=["detection", "classification"], thinking=True)


def test_remote_code_is_opt_in():
    needs = sorted(a.name for a in ADAPTERS.values() if a.trust_remote_code)
    assert needs == ["chexagent", "maira2"]
    for name in needs:
        with pytest.raises(ConfigError, match="pass --trust_remote_code to allow it"):
            get_adapter(name).check(tasks=["report_generation"])
        get_adapter(name).check(tasks=["report_generation"], trust_remote_code=True)
    assert get_adapter("maira2").auto_class == get_adapter("chexagent").auto_class == "AutoModelForCausalLM"
    assert get_adapter("chexagent").processor_class == "AutoTokenizer" and get_adapter("chexagent").images_in_text


# ---- answers in each model's published format -> radgrpo's normalised boxes ----

PARSE_CASES = [
    # Qwen3-VL: JSON bbox_2d on the 0-1000 grid (a fenced block, several boxes, one past the edge is clipped)
    (
        "qwen3_vl_instruct",
        NODULE,
        '```json\n[{"bbox_2d": [100, 200, 400, 500], "label": "nodule"}, {"bbox_2d": [600, 50, 900, 1100], '
        '"label": "nodule"}]\n```',
        {},
        "[0.1, 0.2, 0.4, 0.5] and [0.6, 0.05, 0.9, 1.0]",
    ),
    ("qwen3_vl_instruct", NODULE, "The nodule is at [250, 300, 500, 600].", {}, "[0.25, 0.3, 0.5, 0.6]"),  # no JSON
    ("qwen3_vl_instruct", REPORT, "  The lungs are clear.\n", {}, "The lungs are clear."),
    # Qwen3-VL-Thinking: the template opened <think>; the answer is after the LAST </think>
    (
        "qwen3_vl_thinking",
        HEART,
        'The heart is [0, 0, 10, 10]? No.\n</think>\n\n[{"bbox_2d": [300, 400, 700, 800], "label": "heart"}]',
        {},
        "[0.3, 0.4, 0.7, 0.8]",
    ),
    # Qwen2.5-VL: absolute pixels of the 112 x 84 resized input
    (
        "qwen2_5_vl",
        PHRASE,
        '```json\n[{"bbox_2d": [28, 42, 84, 84], "label": "effusion"}, {"bbox_2d": [120, -5, 56, 42]}]\n```',
        {"input_size": (112, 84)},
        "[0.25, 0.5, 0.75, 1.0] and [0.5, 0.0, 1.0, 0.5]",
    ),
    # MedGemma: reasoning, then "Final Answer:" with box_2d [y0, x0, y1, x1] on 0-1000 (the echoed example is ignored)
    (
        "medgemma",
        HEART,
        'Unlike the car in ```json[{"box_2d": [800, 3, 840, 471], "label": "car"}]```, the heart is central.\n'
        'Final Answer: ```json\n[{"box_2d": [200, 100, 600, 450], "label": "heart"}]\n```',
        {},
        "[0.1, 0.2, 0.45, 0.6]",
    ),
    ("medgemma", HEART, '```json\n[{"box_2d": [500, 250, 750, 500], "label": "heart"}]', {}, "[0.25, 0.5, 0.5, 0.75]"),
    # MAIRA-2: bins (i + 0.5) / 100 of the centred 100 x 100 crop of a 200 x 100 image: x -> (i + 50.5) / 200
    (
        "maira2",
        PHRASE,
        "<obj>Small left pleural effusion<box><x9><y40><x29><y80></box><box><x60><y41><x90><y79></box></obj>",
        {"image_size": (200, 100)},
        "[0.3, 0.41, 0.4, 0.81] and [0.55, 0.41, 0.7, 0.8]",
    ),
    # ... and of a 100 x 200 (tall) image: y -> (i + 50.5) / 200
    (
        "maira2",
        PHRASE,
        "<obj>Small left pleural effusion<box><x9><y40><x29><y80></box></obj>",
        {"image_size": (100, 200)},
        "[0.1, 0.45, 0.29, 0.65]",
    ),
    (
        "maira2",
        REPORT,
        "<obj>Small left pleural effusion.<box><x60><y41><x90><y79></box></obj><obj>No pneumothorax.</obj>",
        {},
        "Small left pleural effusion. No pneumothorax.",
    ),
    ("maira2", REPORT, " The heart size is normal.", {}, "The heart size is normal."),
    # CheXagent-2: <|box|> (x1,y1),(x2,y2) <|/box|> on 0-100 (special tokens kept by its decoding)
    (
        "chexagent",
        PHRASE,
        "<|ref|>Small left pleural effusion<|/ref|><|box|> (12,34),(56,78) <|/box|><|box|> (60,30),(95,105) <|/box|>"
        "<|endoftext|>",
        {},
        "[0.12, 0.34, 0.56, 0.78] and [0.6, 0.3, 0.95, 1.0]",
    ),
    ("chexagent", REPORT, "The lungs are clear.<|endoftext|>", {}, "The lungs are clear."),
    ("llava_rad", REPORT, " No acute cardiopulmonary process.\n", {}, "No acute cardiopulmonary process."),
    ("medgemma_pt", REPORT, " heart size normal.. \n\nno effusion , , ", {}, "heart size normal. no effusion"),
    ("radgrpo", NODULE, " The nodule is at [0.1, 0.2, 0.4, 0.5]. ", {}, "The nodule is at [0.1, 0.2, 0.4, 0.5]."),
]


@pytest.mark.parametrize(("name", "record", "text", "sizes", "expected"), PARSE_CASES)
def test_published_formats_parse_to_normalised_boxes(name, record, text, sizes, expected):
    assert get_adapter(name).parse(text, record, **sizes) == (expected, True)


def test_maira2_boxes_are_mapped_from_the_centre_crop_exactly():
    boxes = get_adapter("maira2").read_boxes("<box><x9><y40><x29><y80></box>", PHRASE, image_size=(200, 100))
    assert boxes == [pytest.approx((59.5 / 200, 0.405, 79.5 / 200, 0.805))]
    square = get_adapter("maira2").read_boxes("<box><x9><y40><x29><y80></box>", PHRASE)  # no size: taken as square
    assert square == [pytest.approx((0.095, 0.405, 0.295, 0.805))]


def test_thinking_answers_and_unclosed_thoughts():
    think = get_adapter("qwen3_vl_thinking")
    assert think.parse("a</think>b</think> The lungs are clear.", REPORT) == ("The lungs are clear.", True)
    assert think.parse('still thinking [{"bbox_2d": [1, 2, 3, 4]}]', NODULE) == ("", False)  # no answer yet
    rad = get_adapter("radgrpo")
    assert rad.parse("<think>x</think> Clear.", REPORT, thinking=True) == ("Clear.", True)
    assert rad.parse("<think>x</think> Clear.", REPORT) == ("<think>x</think> Clear.", True)
    # a family that cannot think is never split, even when the run asks for thinking
    assert get_adapter("qwen3_vl_instruct").parse("x </think> Clear.", REPORT, thinking=True) == (
        "x </think> Clear.",
        True,
    )


@pytest.mark.parametrize(
    "text",
    [
        "I cannot find a nodule on this image.",
        '[{"bbox_2d": [1, 2, 3], "label": "nodule"}]',  # three numbers
        '```json\n[{"bbox_2d": [1e999, 0, 5, 5]}]',  # not finite
        "<obj>nodule<box><x1><y2></box></obj>",  # MAIRA-2 box with two coordinates
        "<|box|> (1,2) <|/box|>",
        "",
    ],
)
def test_unparseable_boxes_give_an_answer_without_boxes(text):
    for name in ("qwen3_vl_instruct", "qwen3_vl_thinking", "qwen2_5_vl", "medgemma", "maira2", "chexagent"):
        text_in = "</think>" + text if name == "qwen3_vl_thinking" else text
        assert get_adapter(name).parse(text_in, NODULE, image_size=(64, 48), input_size=(56, 56))[0] == "", name


def test_qwen2_5_vl_needs_the_input_size():
    with pytest.raises(ValueError, match=r"needs input_size=\(width, height\)"):
        get_adapter("qwen2_5_vl").parse('[{"bbox_2d": [1, 2, 3, 4]}]', NODULE)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('<>/|()[]{}",: 0123456789.-exyobjt_2dkinJSONFal\n')), max_size=80))
def test_parse_never_raises_on_model_text(text):
    for adapter in ADAPTERS.values():
        for record in (REPORT, NODULE) if adapter.supports(NODULE.task) else (REPORT,):
            answer, closed = adapter.parse(text, record, image_size=(64, 48), input_size=(56, 56))
            assert isinstance(answer, str) and isinstance(closed, bool)


# ---- the real chat templates and processors, generate() on a real image ----


@pytest.fixture(scope="module")
def xray(tmp_path_factory):
    """A 150 x 100 greyscale image with a bright square (RGB, as the generation loop loads it)."""
    import numpy as np
    from PIL import Image

    arr = np.random.default_rng(0).normal(60, 8, (100, 150)).clip(0, 255).astype("uint8")
    arr[20:60, 30:90] = 220
    path = tmp_path_factory.mktemp("xray") / "cxr.png"
    Image.fromarray(arr, mode="L").save(path)
    return Image.open(path).convert("RGB")


def _generate(model, processor, text, image, n=4):
    import torch

    inputs = processor(text=[text], images=[image], return_tensors="pt")
    tok = getattr(processor, "tokenizer", processor)
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=n, do_sample=False, pad_token_id=tok.pad_token_id)
    new = out[0, inputs["input_ids"].shape[1] :]
    assert len(new) >= 1
    return inputs, tok.decode(new, skip_special_tokens=True)


def _qwen_input_size(inputs, processor):
    """``(width, height)`` the model saw: ``image_grid_thw`` (t, h, w in patches) times the patch size."""
    _, h, w = inputs["image_grid_thw"][0].tolist()
    patch = processor.image_processor.patch_size
    return (w * patch, h * patch)


def _smart_resize(image, processor):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    ip = processor.image_processor
    h, w = smart_resize(
        image.height, image.width, ip.patch_size * ip.merge_size, ip.size["shortest_edge"], ip.size["longest_edge"]
    )
    return (w, h)


@pytest.fixture(scope="module")
def qwen3(tiny_model_dir):
    from radgrpo.models.qwen3_vl import load_model_and_processor

    return load_model_and_processor(str(tiny_model_dir))


@pytest.mark.parametrize("name", ["qwen3_vl_instruct", "qwen3_vl_thinking", "radgrpo"])
def test_qwen3_vl_adapters_on_the_tiny_qwen3_vl(qwen3, xray, name):
    model, processor = qwen3
    adapter = get_adapter(name)
    thinking = adapter.thinking == "native"
    for record in (REPORT, HEART):
        text = adapter.render(processor, record, thinking)
        assert text.startswith("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>")
        assert text.endswith(adapter.prompt(record) + "<|im_end|>\n<|im_start|>assistant\n")
        inputs, completion = _generate(model, processor, text, xray)
        size = _qwen_input_size(inputs, processor)
        assert size == _smart_resize(xray, processor)  # what the processor resized the 150 x 100 image to
        answer, closed = adapter.parse(completion, record, thinking=thinking, image_size=xray.size, input_size=size)
        assert isinstance(answer, str) and isinstance(closed, bool)


def test_qwen2_5_vl_adapter_on_a_tiny_qwen2_5_vl(xray):
    from tiny_families import tiny_qwen2_5_vl

    model, processor = tiny_qwen2_5_vl()
    adapter = get_adapter("qwen2_5_vl")
    text = adapter.render(processor, PHRASE)
    assert text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        "<|vision_start|><|image_pad|><|vision_end|>" + adapter.prompt(PHRASE) + "<|im_end|>\n<|im_start|>assistant\n"
    )
    inputs, completion = _generate(model, processor, text, xray)
    size = _qwen_input_size(inputs, processor)
    assert size == _smart_resize(xray, processor) == (112, 84)  # 150 x 100 -> multiples of 28, <= 16 visual tokens
    n_image_tokens = int((inputs["input_ids"] == processor.image_token_id).sum())
    assert n_image_tokens == (size[0] // 28) * (size[1] // 28)
    assert isinstance(adapter.parse(completion, PHRASE, image_size=xray.size, input_size=size)[0], str)
    # a box Qwen2.5-VL writes in pixels of that 112 x 84 input, read back normalised
    answer = adapter.parse('[{"bbox_2d": [28, 21, 84, 63]}]', PHRASE, image_size=xray.size, input_size=size)
    assert answer == ("[0.25, 0.25, 0.75, 0.75]", True)


def test_medgemma_adapters_on_a_tiny_gemma3(xray):
    from tiny_families import tiny_gemma3

    model, processor = tiny_gemma3()
    med = get_adapter("medgemma")
    for record in (REPORT, HEART):
        text = med.render(processor, record)
        assert text == (
            "<bos><start_of_turn>user\nYou are an expert radiologist.\n\n<start_of_image>"
            + med.prompt(record).strip()
            + "<end_of_turn>\n<start_of_turn>model\n"
        )
        inputs, completion = _generate(model, processor, text, xray)
        assert int((inputs["input_ids"] == processor.tokenizer.image_token_id).sum()) == 4  # the soft image tokens
        assert tuple(inputs["pixel_values"].shape[-2:]) == (64, 64)  # Gemma 3 resizes to a square, no crop
        assert isinstance(med.parse(completion, record, image_size=xray.size, input_size=(64, 64))[0], str)
    pt = get_adapter("medgemma_pt")
    text = pt.render(processor, REPORT)
    assert text == "<start_of_image> findings:"  # no turns, as medgemma-4b-pt's model card sends it
    _, completion = _generate(model, processor, text, xray)
    assert isinstance(pt.parse(completion, REPORT)[0], str)


def test_llava_rad_adapter_on_a_tiny_llava(xray):
    from tiny_families import tiny_llava

    model, processor = tiny_llava()
    adapter = get_adapter("llava_rad")
    text = adapter.render(processor, REPORT)
    # LLaVA's conv_vicuna_v1.get_prompt() with the model card's query "<image>\nDescribe the findings ...\n"
    assert text == (
        "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
        "detailed, and polite answers to the user's questions. USER: <image>\nDescribe the findings of the chest "
        "x-ray.\n ASSISTANT:"
    )
    inputs, completion = _generate(model, processor, text, xray)
    assert int((inputs["input_ids"] == processor.image_token_id).sum()) == 4  # 2 x 2 patches (CLS dropped)
    assert isinstance(adapter.parse(completion, REPORT)[0], str)


#: MAIRA-2's chat template (the processor's chat_template.json, as shipped with the maira2 checkpoints on the hub).
MAIRA2_CHAT_TEMPLATE = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}You are an "
    "expert radiology assistant tasked with interpreting a chest X-ray study. {% for message in messages %}"
    '{% if message["role"] == "user" %}USER: {% else %}ASSISTANT: {% endif %}{% for item in message["content"] %}'
    '{% if item["type"] == "text" %}{{ item["text"] }}{% elif item["type"] == "image" %}<image>{% endif %}'
    '{% endfor %}{% if message["role"] == "user" %} {% else %}{{eos_token}}{% endif %}{% endfor %}'
    "{% if add_generation_prompt %}ASSISTANT: {% endif %}"
)


def test_maira2_messages_render_as_its_processor_formats_them():
    import jinja2

    template = jinja2.Environment().from_string(MAIRA2_CHAT_TEMPLATE)
    text = template.render(messages=get_adapter("maira2").messages(PHRASE), add_generation_prompt=True)
    assert text == (
        "You are an expert radiology assistant tasked with interpreting a chest X-ray study. USER: Given the current "
        "frontal image<image> Repeat the following finding as a grounded phrase with bounding boxes indicating all "
        "locations where it can be seen in the given chest X-ray image. Finding: Small left pleural effusion "
        "ASSISTANT: "
    )


def test_maira2_normalises_the_image_like_its_processor(xray):
    import numpy as np

    out = get_adapter("maira2").prepare_image(xray)
    arr = np.asarray(out)
    assert out.mode == "L" and out.size == xray.size and (arr.min(), arr.max()) == (0, 255)


class _QwenVLListTokenizer:
    """The two methods of CheXagent-2's remote tokenizer the adapter calls, in Qwen-VL's formats (its remote code is
    not in transformers): ``from_list_format`` numbers the images ``Picture i: <img>path</img>``."""

    def from_list_format(self, items):
        text, n = "", 0
        for item in items:
            if "image" in item:
                n += 1
                text += f"Picture {n}: <img>{item['image']}</img>\n"
            elif "text" in item:
                text += item["text"]
        return text

    def apply_chat_template(self, conv, add_generation_prompt, tokenize):
        assert not tokenize and add_generation_prompt
        return "".join(f"<|im_start|>{m['from']}\n{m['value']}<|im_end|>\n" for m in conv) + "<|im_start|>gpt\n"


def test_chexagent_conversation_names_the_image_by_path(tmp_path):
    adapter = get_adapter("chexagent")
    conv = adapter.conversation(_QwenVLListTokenizer(), PHRASE, tmp_path / "cxr.png")
    assert conv == [
        {"from": "system", "value": "You are a helpful assistant."},
        {
            "from": "human",
            "value": f"Picture 1: <img>{tmp_path / 'cxr.png'}</img>\nPlease locate the following phrase: Small left "
            "pleural effusion",
        },
    ]
    text = adapter.render(_QwenVLListTokenizer(), PHRASE, image_path=tmp_path / "cxr.png")
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>human\nPicture 1:")
    with pytest.raises(ValueError, match="needs image_path"):
        adapter.render(_QwenVLListTokenizer(), PHRASE)
    assert adapter.skip_special_tokens is False  # its boxes are special tokens


# ---- choosing the adapter ----


@pytest.mark.parametrize(
    ("model", "config", "expected"),
    [
        ("Qwen/Qwen3-VL-8B-Instruct", None, "qwen3_vl_instruct"),
        ("Qwen/Qwen3-VL-8B-Thinking", None, "qwen3_vl_thinking"),
        ("Qwen/Qwen3-VL-30B-A3B-Thinking", None, "qwen3_vl_thinking"),
        ("Qwen/Qwen2.5-VL-7B-Instruct", None, "qwen2_5_vl"),
        ("google/medgemma-4b-it", None, "medgemma"),
        ("google/medgemma-27b-it", None, "medgemma"),
        ("google/medgemma-4b-pt", None, "medgemma_pt"),
        ("microsoft/maira-2", None, "maira2"),
        ("microsoft/llava-rad", None, "llava_rad"),
        ("StanfordAIMI/CheXagent-2-3b", None, "chexagent"),
        ("uzh/RadVLM-Qwen3-VL-8B-Thinking", None, "radgrpo"),  # a RadVLM model, whatever its base
        ("someone/my-cxr-model", None, "radgrpo"),  # unknown: the default
        # by config.json when the name says nothing
        ("ckpt", {"model_type": "qwen3_vl", "_name_or_path": "/models/Qwen3-VL-8B-Thinking"}, "qwen3_vl_thinking"),
        ("ckpt", {"model_type": "qwen3_vl"}, "qwen3_vl_instruct"),
        ("ckpt", {"architectures": ["Qwen2_5_VLForConditionalGeneration"]}, "qwen2_5_vl"),
        ("ckpt", {"model_type": "maira2", "architectures": ["Maira2ForConditionalGeneration"]}, "maira2"),
        ("ckpt", {"model_type": "gemma3", "architectures": ["Gemma3ForConditionalGeneration"]}, "radgrpo"),
        ("ckpt", {"model_type": "llava"}, "radgrpo"),
    ],
)
def test_auto_resolution_by_name_and_config(model, config, expected):
    assert resolve_adapter("auto", model, config).name == expected


def test_auto_resolution_of_local_folders(tmp_path, tiny_model_dir):
    assert resolve_adapter("auto", str(tiny_model_dir)).name == "radgrpo"  # built by radgrpo (radgrpo_tiny.json)
    plain = tmp_path / "Qwen3-VL-8B-Thinking"
    plain.mkdir()
    (plain / "config.json").write_text(json.dumps({"model_type": "qwen3_vl"}))
    assert resolve_adapter("auto", str(plain)).name == "qwen3_vl_thinking"  # folder name + config.json
    run = tmp_path / "run"  # a radgrpo run fine-tuned from Qwen3-VL-8B-Thinking: radgrpo's prompts
    run.mkdir()
    (run / "config.json").write_text(
        json.dumps({"model_type": "qwen3_vl", "_name_or_path": "Qwen/Qwen3-VL-8B-Thinking"})
    )
    assert resolve_adapter("auto", str(run)).name == "qwen3_vl_thinking"
    (run / "README.md").write_text("---\ntags: [radgrpo]\n---\n<!-- written by radgrpo.train.model_card -->\n")
    assert is_radgrpo_folder(run) and resolve_adapter("auto", str(run)).name == "radgrpo"
    (run / "checkpoint-300").mkdir()
    assert resolve_adapter("auto", str(run / "checkpoint-300")).name == "radgrpo"  # a checkpoint of that run
    peft = tmp_path / "lora"
    peft.mkdir()
    (peft / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "google/medgemma-4b-it"}))
    assert resolve_adapter("auto", str(peft)).name == "medgemma"
    assert resolve_adapter("maira2", str(run)).name == "maira2"  # an explicit name wins


def test_unknown_adapter_names_the_closest():
    with pytest.raises(UnknownAdapterError) as e:
        resolve_adapter("maira", "microsoft/maira-2")
    assert isinstance(e.value, KeyError) and isinstance(e.value, ConfigError)
    assert str(e.value).startswith("unknown model adapter 'maira'; did you mean 'maira2'? (registered: radgrpo, ")
    assert e.value.args[0] == str(e.value)
    with pytest.raises(KeyError, match=r"unknown model adapter 'gpt4' \(registered"):
        get_adapter("gpt4")


def test_registry_and_help():
    assert list(ADAPTERS) == [
        "radgrpo",
        "chexagent",
        "llava_rad",
        "maira2",
        "medgemma",
        "medgemma_pt",
        "qwen3_vl_instruct",
        "qwen3_vl_thinking",
        "qwen2_5_vl",
    ]
    lines = adapters_help().splitlines()
    assert len(lines) == len(ADAPTERS) and lines[3].startswith("maira2 ") and "[--trust_remote_code]" in lines[3]
    assert {a.box_frame for a in ADAPTERS.values()} == {
        "norm",
        "qwen1000",
        "pixels_input",
        "gemma1000_yx",
        "maira2_bins",
        "chexagent100",
        "none",
    }
    assert get_adapter("qwen3_vl_thinking").generation == {
        "do_sample": True,
        "temperature": 1.0,
        "max_new_tokens": 4096,
    }
    assert get_adapter("qwen3_vl_thinking").template_kwargs(True) == {"enable_thinking": True}


def test_a_new_family_is_one_module(tmp_path, monkeypatch):
    """A module dropped into the adapters package registers its adapter: no list elsewhere to edit."""
    import radgrpo.models.adapters as pkg

    (tmp_path / "zz_family.py").write_text(
        "from radgrpo.models.adapters.base import BaselineAdapter\n"
        "from radgrpo.models.adapters.registry import register_adapter\n"
        "register_adapter(BaselineAdapter(name='zz_model', description='a test family', hub_ids=('zz-model',)))\n"
    )
    monkeypatch.setattr(pkg, "__path__", [*pkg.__path__, str(tmp_path)])
    try:
        families = pkg._register_families()
        assert families[0] == "radgrpo" and families[-1] == "zz_family"
        assert resolve_adapter("auto", "acme/zz-model-7b").name == "zz_model"
    finally:
        ADAPTERS.pop("zz_model", None)
        import sys

        sys.modules.pop("radgrpo.models.adapters.zz_family", None)
