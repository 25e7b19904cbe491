"""Memory per variant: the worker process's own figures, never the machine-wide "used" memory.

- ``load_footprint_bytes``: RSS after loading the model minus RSS before (in the worker);
- ``rss_bytes`` / ``uss_bytes``: the worker now (USS: memory only this process holds);
- ``peak_rss_bytes``: the worker's high-water mark so far (``VmHWM``), after the suites that
  ran before this one in the same worker;
- ``kv_cache_bytes``: the key/value cache onnxruntime-genai allocates at the run's ``max_length``
  (computed from the model's shape); ``first_request_rss_delta_bytes``: what the worker's first
  request added to its RSS after loading (the generator's cache and the runtime's working
  buffers, which the allocator keeps for later requests); ``kv_cache_share``: the cache's part of
  the worker's RSS while a generator holding a domain prompt lives;
- ``device_bytes`` on CUDA when NVML (``nvidia-ml-py``) can see the worker.
"""

import json

import pytest

from harness.measure.perf import kv_cache_bytes
from harness.measure.records import measurement
from harness.measure.smoke import domain_texts

pytestmark = pytest.mark.harness_perf


def test_memory(variant, harness_session, built_variant, domain_examples, record_measurement):
    def record(name, value, unit="bytes", **extra):
        record_measurement(measurement(variant.id, "memory", name, unit, [value], higher_is_better=False, **extra))

    ready = harness_session.ready
    footprint = ready["rss_after_load_bytes"] - ready["rss_before_load_bytes"]
    assert footprint > 0, "loading the model did not grow the worker's RSS"
    record("load_footprint_bytes", footprint)

    ids = harness_session.encode(domain_texts(domain_examples)[0])
    held = harness_session.generator_memory(ids)
    now = harness_session.memory()
    record("rss_bytes", now["rss_bytes"])
    record("uss_bytes", now["uss_bytes"])
    record("peak_rss_bytes", now["peak_rss_bytes"])
    max_length = harness_session.info()["max_length"]
    genai_config = json.loads((built_variant.path / "genai_config.json").read_text())
    kv = kv_cache_bytes(genai_config, max_length, built_variant.quantization["io_dtype"])
    record("kv_cache_bytes", kv, max_length=max_length)
    if harness_session.after_first_request is not None:
        record(
            "first_request_rss_delta_bytes",
            harness_session.after_first_request["rss_bytes"] - ready["rss_after_load_bytes"],
        )
    record("kv_cache_share", kv / held["with_generator"]["rss_bytes"], unit="fraction", max_length=max_length)
    if "device_bytes" in now:
        record("device_bytes", now["device_bytes"])
    assert now["peak_rss_bytes"] >= now["rss_bytes"] > 0
