"""Evaluation sets: every supported format reads the same records; a bad record is named by file
and line (or row), and nothing is guessed."""

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from harness.common.hashing import tree_sha256
from harness.common.shipped import datasets_root
from harness.errors import HarnessError
from harness.evaluation.datasets import load_examples, locate

DATASETS_DIR = datasets_root()

RECORDS = [
    {
        "id": "a",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}],
        "reference": "4",
        "checks": {"numeric": 0.5, "contains": "4"},
    },
    {"id": "b", "prompt": "Say hi", "reference": "hi"},
    {"id": "c", "prompt": "Anything", "checks": {"regex": "^x", "json_valid": True}},
]


def _same_examples(examples):
    assert [e.id for e in examples] == ["a", "b", "c"]
    assert examples[0].messages[0] == {"role": "system", "content": "Be brief."}
    assert examples[1].messages == ({"role": "user", "content": "Say hi"},)
    assert examples[0].checks == {"numeric": {"value": 4.0, "tolerance": 0.5}, "contains": ["4"]}
    assert examples[1].checks == {"exact_match": True, "rouge_l": True}  # the default with a reference
    assert examples[2].reference is None and examples[2].checks == {"regex": "^x", "json_valid": True}


def test_jsonl_csv_parquet_and_a_saved_folder_give_the_same_examples(tmp_path):
    import datasets

    jsonl = tmp_path / "set.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    flat = [
        {
            **r,
            "messages": json.dumps(r["messages"]) if "messages" in r else None,
            "checks": json.dumps(r["checks"]) if "checks" in r else None,
        }
        for r in RECORDS
    ]
    pd.DataFrame(flat).to_csv(tmp_path / "set.csv", index=False)
    pd.DataFrame(flat).to_parquet(tmp_path / "set.parquet")
    datasets.Dataset.from_pandas(pd.DataFrame(flat)).save_to_disk(str(tmp_path / "saved"))
    hashes = set()
    for path in ("set.jsonl", "set.csv", "set.parquet", "saved"):
        loaded = load_examples(tmp_path / path)
        _same_examples(loaded.examples)
        hashes.add(loaded.sha256)
        if path != "saved":  # a single file: the sha256 of its bytes, computed here independently
            assert loaded.sha256 == hashlib.sha256((tmp_path / path).read_bytes()).hexdigest()
    assert len(hashes) == 4


def test_a_folder_hash_is_its_files_paths_and_bytes_hidden_files_aside(tmp_path):
    folder = tmp_path / "saved"
    (folder / "sub").mkdir(parents=True)
    (folder / "data.jsonl").write_text(json.dumps(RECORDS[1]) + "\n")
    (folder / "sub" / "x.bin").write_bytes(b"\x00\x01")
    expected = hashlib.sha256()
    for name, data in (("data.jsonl", (folder / "data.jsonl").read_bytes()), ("sub/x.bin", b"\x00\x01")):
        expected.update(name.encode() + b"\0" + data + b"\0")
    assert tree_sha256(folder) == expected.hexdigest()
    (folder / ".lock").write_text("editor state")
    assert tree_sha256(folder) == expected.hexdigest()
    (folder / "sub" / "x.bin").write_bytes(b"\x00\x02")
    assert tree_sha256(folder) != expected.hexdigest()


def test_the_hash_follows_the_content(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(RECORDS[1]) + "\n")
    first = load_examples(path).sha256
    path.write_text(json.dumps({**RECORDS[1], "reference": "hello"}) + "\n")
    assert load_examples(path).sha256 != first


def test_a_name_finds_the_shipped_set_and_its_heldout_split():
    path, kind = locate("support_tickets")
    assert path == DATASETS_DIR / "support_tickets" / "heldout.jsonl" and kind == "json"
    examples = load_examples("support_tickets").examples
    assert len(examples) == 300
    assert set(examples[0].checks) == {
        "exact_match",
        "json_valid",
        "json_schema",
        "regex",
        "contains",
        "rouge_l",
        "numeric",
    }
    assert examples[0].checks["json_schema"]["required"] == ["category", "priority", "order_id"]


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"id": "a", "messages": [', "malformed JSON"),
        ('{"id": "a"}', "expected 'messages' (a list of {role, content}) or 'prompt' (text)"),
        ('{"id": "a", "messages": [{"role": "user"}]}', "expected 'messages', a list of {role, content}"),
        (
            '{"id": "a", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}',
            "the last message must be the user's",
        ),
        ('{"id": "a", "messages": [{"role": "robot", "content": "q"}]}', "unknown role 'robot'"),
        ("[1, 2]", "expected a JSON object"),
        ('{"id": "a", "prompt": "q", "checks": {"exact": true}}', "unknown check 'exact'"),
        ('{"id": "a", "prompt": "q", "checks": {"regex": "(["}}', "check 'regex': invalid pattern"),
        ('{"id": "a", "prompt": "q", "checks": {"exact_match": true}}', "check 'exact_match' needs a 'reference'"),
        ('{"id": "a", "prompt": "q", "checks": {"json_schema": "nowhere.json"}}', "check 'json_schema': cannot read"),
        (
            '{"id": "a", "prompt": "q", "checks": {"json_schema": {"type": 5}}}',
            "check 'json_schema': not a valid JSON Schema",
        ),
        (
            '{"id": "a", "prompt": "q", "reference": "none", "checks": {"numeric": 0.1}}',
            "check 'numeric': no 'value' given and no number in the reference",
        ),
        ('{"id": "ok", "prompt": "again"}', "id 'ok' repeats an earlier record"),
    ],
)
def test_a_bad_record_is_named_by_file_and_line(tmp_path, line, message):
    good = '{"id": "ok", "messages": [{"role": "user", "content": "hi"}], "reference": "x"}'
    path = tmp_path / "set.jsonl"
    path.write_text(f"{good}\n\n{line}\n")
    with pytest.raises(HarnessError) as info:
        load_examples(path)
    assert str(info.value).startswith(f"{path}:3: {message}"), str(info.value)


def test_a_bad_csv_row_is_named_by_row(tmp_path):
    path = tmp_path / "set.csv"
    pd.DataFrame(
        [{"id": "a", "prompt": "q", "checks": '{"regex": "x"}'}, {"id": "b", "prompt": "q", "checks": '{"regex": '}]
    ).to_csv(path, index=False)
    with pytest.raises(HarnessError, match=rf"^{path}: row 2: 'checks' is not valid JSON"):
        load_examples(path)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.jsonl", "no such file or folder"),
        (lambda d: (d / "x.txt").write_text("hi") and d / "x.txt", "unknown format '.txt'"),
        (lambda d: (d / "empty.jsonl").write_text("\n") and d / "empty.jsonl", "no records"),
        (lambda d: [(d / n).write_text("{}\n") for n in ("a.jsonl", "b.jsonl")] and d, "several data files"),
    ],
)
def test_what_cannot_be_read_is_named(tmp_path, make, message):
    with pytest.raises(HarnessError, match=message):
        load_examples(make(tmp_path))


def test_without_a_checkout_or_an_installed_copy_the_shipped_sets_are_refused_in_one_line(monkeypatch, tmp_path):
    """Neither the checkout's datasets/ nor the package data harness.data: the default data set is
    refused, saying what is missing, instead of pointing into site-packages."""
    from harness.common import shipped
    from harness.evaluation.model_sets import default_dataset
    from harness.models.sources import resolve_model

    source = resolve_model("embedded")
    assert default_dataset(source) == DATASETS_DIR / "support_tickets" / "heldout.jsonl"
    monkeypatch.setattr(shipped, "_CHECKOUT", tmp_path / "no-checkout" / "datasets")
    monkeypatch.setattr(shipped, "_INSTALLED", tmp_path / "no-installation" / "data")
    with pytest.raises(
        HarnessError, match=r"^the shipped data sets are missing from this installation .*--dataset PATH$"
    ):
        default_dataset(source)
    assert shipped.shipped_set(Path("support_tickets")) is None


GOOD = b'{"id": "ok", "prompt": "hi", "reference": "x"}\n'


@pytest.mark.parametrize(
    "name, content, message",
    [
        (
            "set.jsonl",
            GOOD + b'{"id": "b", "prompt": "caf\xe9"}\n',
            "{path}:2: not UTF-8 text (byte 0xe9 at column 27)",
        ),
        ("set.csv", b"id,prompt\na,q\nb,caf\xe9\n", "{path}:3: not UTF-8 text (byte 0xe9 at column 6)"),
        (
            "set.jsonl",
            GOOD + b'{"id": "b", "prompt": "x \\ud800 y"}\n',
            "{path}:2: 'prompt' holds a lone UTF-16 surrogate (\\ud800 at character 3): not valid Unicode text",
        ),
        (
            "set.jsonl",
            GOOD + b'{"id": "b", "messages": [{"role": "user", "content": "\\udfff"}]}\n',
            "{path}:2: 'messages.0.content' holds a lone UTF-16 surrogate (\\udfff at character 1)",
        ),
        (
            "set.json",
            b'[{"id": "ok", "prompt": "hi"},\n {"id": "b", "prompt": "x \\ud800"}]',
            "{path}: record 2: 'prompt' holds a lone UTF-16 surrogate (\\ud800 at character 3)",
        ),
    ],
    ids=["jsonl_bytes", "csv_bytes", "jsonl_surrogate", "nested_surrogate", "json_array_surrogate"],
)
def test_text_that_is_not_unicode_is_named_by_line(tmp_path, name, content, message):
    """Bytes that are not UTF-8 and lone surrogates (valid JSON escapes, invalid text: the reader
    would drop one without a word) stop with the line a user counts from 1."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(HarnessError) as info:
        load_examples(path)
    assert str(info.value).startswith(message.format(path=path)), str(info.value)


def test_each_example_knows_its_file_and_line(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_bytes(GOOD + b"\n" + b'{"id": "b", "prompt": "q"}\n')
    assert [e.where for e in load_examples(path).examples] == [f"{path}:1", f"{path}:3"]
