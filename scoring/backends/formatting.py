"""One (prompt, response) pair to the token ids a reward model reads (DESIGN 6.2).

The conversation ``[system?, user: prompt, assistant: response]`` goes through the
tokenizer's chat template (or the scorer's template string) and is tokenized once. The chat
template writes its own special tokens, so the rendered text is tokenized without adding
any: a BOS is never doubled (RewardBench's pipelines tokenize the rendered template with
``add_special_tokens=True`` and so read two BOS on Llama-3). Too long: the prompt loses its
left part first, the response is kept; the result says it was truncated.

Needs a ``transformers`` tokenizer (no torch).
"""

from __future__ import annotations

from typing import Any

from .base import BackendError, ScorerSpec


def render(tokenizer: Any, spec: ScorerSpec, prompt: str, response: str) -> str:
    """The text the model reads, before tokenization."""
    if spec.template:
        return (
            spec.template.replace("{system}", spec.system_prompt)
            .replace("{prompt}", prompt)
            .replace("{response}", response)
        )
    messages = [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": response},
    ]
    if spec.system_prompt:
        messages.insert(0, {"role": "system", "content": spec.system_prompt})
    return tokenizer.apply_chat_template(messages, tokenize=False)


def _bos_fixed(ids: list[int], bos_id: int | None, bos: str) -> list[int]:
    if bos_id is None:
        return ids
    start = 0
    while start < len(ids) and ids[start] == bos_id:
        start += 1
    body = ids[start:]
    if bos == "strip":
        return body
    if bos == "add" or start > 0:
        return [bos_id, *body]  # exactly one, however many the template and tokenizer wrote
    return ids


def tokenize(tokenizer: Any, spec: ScorerSpec, prompt: str, response: str) -> list[int]:
    """Token ids of one pair, untruncated."""
    text = render(tokenizer, spec, prompt, response)
    # A template string relies on the tokenizer's own special tokens (bos "auto"); a chat
    # template writes them into the text.
    add_special = bool(spec.template) and spec.bos == "auto"
    ids = tokenizer(text, add_special_tokens=add_special)["input_ids"]
    return _bos_fixed(list(ids), tokenizer.bos_token_id, spec.bos)


def encode(tokenizer: Any, spec: ScorerSpec, prompt: str, response: str) -> tuple[list[int], bool]:
    """Token ids of one pair within ``spec.max_length``, and whether anything was cut.

    The prompt is cut from the left first (its end, next to the response, matters most);
    only when no prompt is left is the response cut, from its right.
    """
    ids = tokenize(tokenizer, spec, prompt, response)
    limit = spec.max_length
    if len(ids) <= limit:
        return ids, False
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    cut = len(ids) - limit
    while cut < len(prompt_ids):
        ids = tokenize(tokenizer, spec, tokenizer.decode(prompt_ids[cut:]), response)
        if len(ids) <= limit:
            return ids, True
        cut += len(ids) - limit  # re-tokenizing at the cut can merge or split a token
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    keep = len(response_ids)
    while keep > 0:
        ids = tokenize(tokenizer, spec, "", tokenizer.decode(response_ids[:keep]))
        if len(ids) <= limit:
            return ids, True
        keep -= len(ids) - limit
    raise BackendError(
        f"scorer '{spec.name}': max_length {limit} is shorter than the chat template around "
        f"an empty prompt and response ({len(tokenize(tokenizer, spec, '', ''))} tokens); "
        "raise max_length"
    )
