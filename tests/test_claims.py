"""Claims stated in a config: validation, the verdict's test checked against the stated one,
corrections, and the wording of a test that does not reject."""

import pytest

from swarmreg.claims import Claim, not_shown, parse_claims, require

SHRINK = {"id": "shrink", "hypothesis": "L2 shrinks the weights", "test": "wilcoxon", "sides": "two-sided",
          "family": "36 pairs", "correction": "intersection-union", "alpha": 0.05}


def test_parse_claims_keeps_each_stated_field():
    claims = parse_claims({"claims": [SHRINK, {**SHRINK, "id": "same", "test": "tost", "margin": 0.01,
                                               "correction": "none"}]})
    assert claims["shrink"] == Claim(**SHRINK)
    assert claims["same"].margin == 0.01
    assert "intersection-union" in claims["shrink"].describe() and "±0.01" in claims["same"].describe()


@pytest.mark.parametrize("change, word", [
    ({"test": "t-test"}, "'t-test'"), ({"sides": "both"}, "'both'"), ({"correction": "bonferroni"}, "'bonferroni'"),
    ({"alpha": 1.5}, "1.5"), ({"margin": 0.1}, "margin"), ({"extra": 1}, "extra"),
])
def test_bad_claims_are_refused_naming_the_value(change, word):
    with pytest.raises(ValueError, match=word):
        parse_claims({"claims": [{**SHRINK, **change}]})


def test_missing_field_and_repeated_id_are_refused():
    with pytest.raises(ValueError, match="lacks test"):
        parse_claims({"claims": [{k: v for k, v in SHRINK.items() if k != "test"}]})
    with pytest.raises(ValueError, match="twice"):
        parse_claims({"claims": [SHRINK, SHRINK]})
    with pytest.raises(ValueError, match="margin"):
        parse_claims({"claims": [{**SHRINK, "test": "tost"}]})


def test_a_verdict_cannot_run_a_test_the_config_does_not_state():
    claims = parse_claims({"claims": [SHRINK]})
    assert require(claims, "shrink", "wilcoxon").id == "shrink"
    with pytest.raises(ValueError, match="stated with test 'wilcoxon'"):
        require(claims, "shrink", "mann-whitney")
    with pytest.raises(KeyError, match="no claim 'other'"):
        require(claims, "other", "wilcoxon")


def test_corrections_decide_whether_the_claim_holds():
    iu = Claim(**SHRINK)
    holm_claim = Claim(**{**SHRINK, "correction": "holm"})
    p = [0.04, 0.03, 0.01]
    assert iu.holds(p)                       # each test at alpha
    assert not holm_claim.holds(p)           # Holm: 0.03 * 2 = 0.06 > 0.05
    assert holm_claim.adjust(p).tolist() == pytest.approx([0.06, 0.06, 0.03])
    assert not iu.holds([0.01, 0.2]) and not iu.holds([])


def test_not_shown_never_says_no_difference():
    text = not_shown(0.38, 20, "a shift of 0.8 standard deviations")
    assert text.startswith("not shown (p = 0.38, n = 20") and "difference" not in text
