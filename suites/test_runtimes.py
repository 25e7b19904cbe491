"""Does a runtime upgrade change the model? (``--runtimes``, e.g. ``0.18.0,0.14.1``)

For each variant measured under another onnxruntime-genai release than the main environment's
(``int4-cpu@0.14.1``), its next-token distributions are compared with those of the same build under
the main environment's runtime (its twin, ``int4-cpu``), on the same chunks of domain text as the
closeness suite: KL divergence, top-1 agreement and the rest of :mod:`harness.measure.closeness`,
recorded as ``runtime_kld_mean``, ``runtime_top1_agreement``, ... The report's runtime section
adds the speed deltas (from the latency suite, with their significance) and whether the greedy
answers are the same (from the quality suite's answers).
"""

import pytest

from harness.measure.quality import closeness_records
from harness.run.reference import reference_logprobs


def test_same_build_under_the_main_runtime(variant, harness_session, harness_state, record_measurement, request):
    twin = harness_state.twin_of(variant.id)
    if twin is None:
        pytest.skip("measured under the main environment's runtime: it is what the others are compared with")
    chunks, n_ctx = request.getfixturevalue("closeness_text")  # after the skip: no text is cut for nothing
    path, _ = reference_logprobs(harness_state, twin, chunks)
    records = closeness_records(
        variant.id, "runtimes", harness_session.compare(chunks, path), twin, len(chunks), n_ctx, prefix="runtime_"
    )
    for record in records:
        record_measurement(record)
    assert records and all(r.extra["reference"] == twin for r in records)
