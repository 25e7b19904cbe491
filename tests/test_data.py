"""Data sets: a bad line is named by file and line, and nothing is guessed."""

import pytest

from harness.data import load_jsonl
from harness.errors import HarnessError


@pytest.mark.parametrize("line, message", [
    ('{"id": "a", "messages": [', "malformed JSON"),
    ('{"id": "a", "prompt": "hi"}', "expected 'messages', a list of {role, content}"),
    ('{"id": "a", "messages": [{"role": "user"}]}', "expected 'messages', a list of {role, content}"),
    ("[1, 2]", "expected 'messages', a list of {role, content}"),
])
def test_a_malformed_line_is_named_by_file_and_line(tmp_path, line, message):
    good = '{"id": "ok", "messages": [{"role": "user", "content": "hi"}], "reference": "x"}'
    path = tmp_path / "set.jsonl"
    path.write_text(f"{good}\n\n{line}\n{good}\n")
    with pytest.raises(HarnessError) as info:
        load_jsonl(path)
    assert str(info.value).startswith(f"{path}:3: {message}")


def test_a_missing_data_set_is_named(tmp_path):
    with pytest.raises(HarnessError, match=r"cannot read dataset .*missing.jsonl"):
        load_jsonl(tmp_path / "missing.jsonl")
