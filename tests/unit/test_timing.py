"""Where a run's time went: each variant's tests summed by suite, beside its build."""

from harness.report.timing import timing
from harness.results.view import RunResults


def test_the_time_section_sums_each_variants_tests_by_suite():
    results = RunResults.from_dict(
        {
            "run": {"id": "r", "started_at": "2026-12-07T10:00:00+00:00", "ended_at": "2026-12-07T10:01:40+00:00"},
            "variants": [
                {
                    "id": "fp32-cpu",
                    "build_seconds": 12.5,
                    "cached": False,
                    "estimate": {"seconds": {"latency": 4.0, "soak": 30.0}, "cost": {}},
                    "seconds": {
                        "test_latency.py::test_latency": 3.0,
                        "test_soak.py::test_soak": 20.0,
                        "test_quality.py::test_task_quality": 4.0,
                        "test_quality.py::test_closeness_to_reference": 1.5,
                    },
                },
                {"id": "int4-cpu", "build_seconds": 0.1, "cached": True, "seconds": {"test_soak.py::test_soak": 10.0}},
            ],
        }
    )
    section = timing(results)
    assert section.header == ["variant", "build s", "latency", "soak", "quality", "total", "planned / took s"]
    assert section.rows == [  # fp32-cpu planned 34 s for latency and soak, which took 23
        ["`fp32-cpu`", "12.5", "3", "20", "5.5", "28.5", "34 / 23"],
        ["`int4-cpu`", "cached", "—", "10", "—", "10", "—"],
    ]
    assert "The run took 100 s, 38.5 s of them in these tests" in section.text[0]


def test_a_run_that_timed_nothing_has_no_time_section():
    assert timing(RunResults.from_dict({"run": {"id": "r"}, "variants": [{"id": "fp32-cpu"}]})) is None


def test_a_budgeted_run_says_in_its_time_section_what_it_traded():
    budget = {
        "minutes": 5,
        "share": 0.25,
        "variants": 4,
        "planned_seconds": 600,
        "fitted_seconds": 280,
        "changed": {"soak.iterations": [300, 165]},
    }
    results = RunResults.from_dict(
        {
            "run": {"id": "r", "profile": "standard", "budget": budget},
            "variants": [{"id": "fp32-cpu", "seconds": {"test_soak.py::test_soak": 10.0}}],
        }
    )
    said = timing(results).text[-1]
    assert said.startswith("Budget 5 min: the plan at the standard profile's sizes is about 10.0 min for 4 variant(s)")
    assert said.endswith("Traded: soak: iterations 300 -> 165: the soak suite's figures carry wider intervals.")
