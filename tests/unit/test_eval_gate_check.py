"""evals.gate.check: bounds, missing metrics."""

from evals.gate import check, load_thresholds


def test_check_reports_each_violation():
    metrics = {"answers": {"containment": 0.5}, "refusals": {"false_refusal_rate": 0.3}}
    rules = {"answers.containment": {"min": 0.6}, "refusals.false_refusal_rate": {"max": 0.2},
             "citations.quote_exact": {"min": 1.0}}
    failures = check(metrics, rules)
    assert len(failures) == 3
    assert "answers.containment = 0.5000 < min 0.6" in failures
    assert "citations.quote_exact: missing" in failures


def test_check_passes_within_bounds():
    assert check({"a": {"b": 0.7}}, {"a.b": {"min": 0.6, "max": 0.8}}) == []


def test_thresholds_file_is_well_formed():
    for spec in load_thresholds():
        assert {"name", "dataset", "metrics"} <= set(spec)
        for bound in spec["metrics"].values():
            assert set(bound) <= {"min", "max"} and bound
