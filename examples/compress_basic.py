"""compress() on a real agent conversation, then the retrieval round trip.

    python examples/compress_basic.py

Runs offline on a sample bundled with the package. With OPENAI_API_KEY set and
the `openai` package installed, it also sends the compressed request to gpt-4o-mini.
"""

from __future__ import annotations

import json
import os
from importlib import resources

from headroom import compress, retrieve


def main() -> None:
    sample = resources.files("headroom").joinpath("demo_data/p-db-biggestfile.json")
    case = json.loads(sample.read_text(encoding="utf-8"))
    messages = case["messages"]

    result = compress(messages, model="gpt-4o")
    print(
        f"{result.tokens_before} -> {result.tokens_after} tokens ({result.compression_ratio:.0%} saved)"
    )
    print("transforms:", result.transforms_applied)
    print("what the model sees of the tool output:\n")
    print(result.messages[3]["content"][:1200], "...\n")

    for h in result.ccr_hashes:
        original = retrieve(h)
        print(f"retrieve({h!r}) gives back all {len(original)} characters of the original")

    if os.environ.get("OPENAI_API_KEY"):
        from openai import OpenAI

        reply = OpenAI().chat.completions.create(model="gpt-4o-mini", messages=result.messages)  # type: ignore[arg-type]
        print("\nmodel:", reply.choices[0].message.content)


if __name__ == "__main__":
    main()
