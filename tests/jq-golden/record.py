#!/usr/bin/env python3
"""Record jq 1.8.2's answers for the golden cases in cases.json into golden.json.

The oracle is libjq 1.8.2 as bundled by the `jq` PyPI package 1.12.0 (what Ocean runs):

    python3 -m venv /tmp/jqvenv && /tmp/jqvenv/bin/pip install jq==1.12.0
    /tmp/jqvenv/bin/python tests/jq-golden/record.py

Each case is a program and an input (JSON text). jq.py hands outputs to Python as Python
values (numbers become doubles), so each output is recorded as jq's own text: the program runs
as `(P) | tojson`, which prints numbers the way jq does (literals kept). An error ends the
outputs and is recorded as its message. tests/jq_golden.rs replays the cases through port-okta's
engine and compares text for text; it needs neither Python nor jq.
"""
import json
import os
import sys

import jq

HERE = os.path.dirname(os.path.abspath(__file__))


def run(program, input_text):
    outputs, error = [], None
    try:
        compiled = jq.compile("(" + program + ") | tojson")
        for out in compiled.input_text(input_text):
            outputs.append(out)
    except Exception as e:  # jq.py raises ValueError with jq's message
        error = str(e)
    return outputs, error


def main():
    from importlib.metadata import version

    assert version("jq") == "1.12.0", f"jq.py {version('jq')}, expected 1.12.0 (libjq 1.8.2)"
    with open(os.path.join(HERE, "cases.json")) as f:
        cases = json.load(f)
    golden = []
    for case in cases:
        outputs, error = run(case["program"], case["input"])
        golden.append({**case, "outputs": outputs, "error": error})
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"recorded {len(golden)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
