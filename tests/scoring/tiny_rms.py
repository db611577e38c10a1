"""Tiny random reward models built in the test session (nothing is downloaded).

Each has a byte-level BPE tokenizer trained here with `tokenizers`, a chat template, and
random weights, saved with ``save_pretrained`` like a real model directory.
"""

from __future__ import annotations

import json
from pathlib import Path

CORPUS = [
    "What is the capital of France? The capital of France is Paris.",
    "Explain photosynthesis in one sentence. Plants turn light, water and CO2 into sugar.",
    "Write a haiku about rain. Soft rain on the roof / the garden drinks in silence / "
    "puddles hold the sky",
    "How do I sort a list in Python? Use sorted(items) or items.sort().",
    "- item one\n- item two\n# Heading\n| a | b |\n```python\nprint(1)\n```",
    "user assistant system helpful harmless honest answer question",
] * 20

LLAMA_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "<|{{ m['role'] }}|>\n{{ m['content'] }}{{ eos_token }}{% if not loop.last %}\n{% endif %}"
    "{% endfor %}"
)
CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
)


def _tokenizer(special: list[str], *, add_bos: str | None):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    if add_bos:
        # Like Llama's tokenizers: a plain tokenizer(text) call prepends BOS, the trap that
        # doubles it when the chat template wrote one already.
        tok.post_processor = processors.TemplateProcessing(
            single=f"{add_bos} $A", special_tokens=[(add_bos, tok.token_to_id(add_bos))]
        )
    return tok


def build_llama(path: Path, *, seed: int = 0, num_labels: int = 1) -> Path:
    """A Llama-style RM: BOS written by the template, EOS ends each turn, no pad token."""
    import torch
    from transformers import LlamaConfig, LlamaForSequenceClassification, PreTrainedTokenizerFast

    tok = _tokenizer(["<s>", "</s>", "<unk>"], add_bos="<s>")
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )
    fast.chat_template = LLAMA_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        num_labels=num_labels,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=None,
    )
    model = LlamaForSequenceClassification(config).eval()
    with torch.no_grad():  # a visible spread of scores, not all near zero
        model.score.weight.normal_(0, 1.0)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path


def build_qwen3(path: Path, *, seed: int = 1, heads: int = 4, head_dim: int = 8) -> Path:
    """A Qwen3-style RM: ChatML template, no BOS, a pad token distinct from EOS. (vLLM's
    attention kernels want a head_dim of 64 or more.)"""
    import torch
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForSequenceClassification

    tok = _tokenizer(["<|endoftext|>", "<|im_start|>", "<|im_end|>"], add_bos=None)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    fast.chat_template = CHATML_TEMPLATE
    torch.manual_seed(seed)
    config = Qwen3Config(
        vocab_size=len(fast),
        hidden_size=heads * head_dim,
        intermediate_size=2 * heads * head_dim,
        num_hidden_layers=2,
        num_attention_heads=heads,
        num_key_value_heads=heads // 2,
        head_dim=head_dim,
        max_position_embeddings=512,
        num_labels=1,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    model = Qwen3ForSequenceClassification(config).eval()
    with torch.no_grad():
        model.score.weight.normal_(0, 1.0)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path


def reference_scores(path: Path, conversations: list[list[dict]]) -> list[float]:
    """An independent batch-size-1 forward pass: the chat template applied by transformers
    itself, no padding, the model's own pooling (the last position)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, local_files_only=True, dtype=torch.float32
    ).eval()
    out = []
    with torch.inference_mode():
        for messages in conversations:
            ids = tok.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
            logits = model(input_ids=torch.tensor([ids])).logits
            out.append(float(logits[0, 0]))
    return out


def definition(path: Path, name: str, **extra) -> dict:
    return {
        "name": name,
        "kind": "reward_model",
        "backend": "transformers",
        "model_path": str(path),
        **extra,
    }


def write_definition(tmp: Path, body: dict) -> Path:
    file = tmp / f"{body.get('name', 'scorer')}.json"
    file.write_text(json.dumps(body), encoding="utf-8")
    return file


PAIRS = [
    ("What is the capital of France?", ["Paris.", "The capital of France is Paris.", "Lyon"]),
    (
        "Explain photosynthesis in one sentence.",
        ["Plants turn light, water and CO2 into sugar.", "- light\n- water\n- sugar", ""],
    ),
    ("Write a haiku about rain.", ["Soft rain on the roof\nthe garden drinks in silence"]),
    ("How do I sort a list in Python?", ["Use sorted(items).", "```python\nitems.sort()\n```"]),
]


def project_with_responses(slug: str = "rm", pairs=PAIRS):
    """A project whose prompts and responses are PAIRS; returns (project, responses)."""
    from annotation.models import Prompt, Response
    from annotation.services.projects import project_create

    project = project_create(slug=slug, name=slug, domains=[{"name": "general"}])
    domain = project.domains.get()
    responses = []
    for i, (prompt_text, answers) in enumerate(pairs):
        prompt = Prompt.objects.create(
            project=project,
            domain=domain,
            text=prompt_text,
            external_id=f"p{i}",
            content_hash=f"{slug}-p{i}",
        )
        for j, answer in enumerate(answers):
            responses.append(
                Response.objects.create(
                    project=project,
                    prompt=prompt,
                    text=answer,
                    external_id=f"p{i}-r{j}",
                    content_hash=f"{slug}-p{i}-r{j}",
                )
            )
    return project, responses


def conversation(response) -> list[dict]:
    return [
        {"role": "user", "content": response.prompt.text},
        {"role": "assistant", "content": response.text},
    ]
