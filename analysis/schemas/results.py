"""The analysis results: the ARD (every statistic, long) and the IPTW bootstrap summary (outputs.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from analysis.schemas.base import PYTHON_TEXT, OutputModel, OutputTable, field, markdown_cell, rows_in_key_order

ARD_KEY = ("analysis", "group", "variable", "stat_name", "method")
BOOTSTRAP_KEY = ("statistic",)


@dataclass(frozen=True)
class AnalysisFamily:
    """A family of ARD rows: the value(s) of ``analysis``, the set, groups, variables and statistics."""

    analyses: tuple[str, ...]
    analysis_set: str
    group: str
    variable: str
    statistics: str
    note: str = ""

    def row(self) -> str:
        """The family's row of the docs' families table (markdown)."""
        names = ", ".join(f"`{analysis}`" for analysis in self.analyses)
        label = f"{names} ({self.note})" if self.note else names
        cells = (label, self.analysis_set, self.group, self.variable, self.statistics)
        return "| " + " | ".join(markdown_cell(text) for text in cells) + " |"


ANALYSIS_FAMILIES = (
    AnalysisFamily(
        ("crs_rate",),
        "CRS-evaluable (`adsl.crs_evaluable`)",
        "`all`, `high_burden`, `low_burden` (`adsl.high_burden`)",
        "required: `crs_any`, `crs_grade3plus`, `crs_grade4plus`, `crs_penn_grade3plus`, `crs_penn_grade4plus`, "
        "`icans_any`, `icans_grade3plus`; (O v3) `crs_grade4`, `crs_penn_grade4` (grade 4 alone, grade 5 not "
        "counted). Extra: `tocilizumab_given` (`anakinra`, days 0–30) and "
        "`icu_level_support` (any `crs_timeline` interval with `hypotension_level` ≥ 3 or `hypoxia_level` = 4, "
        "i.e. a vasopressor or CPAP/BiPAP/ventilation, up to the CRS horizon)",
        '`n`, `N`, `p`, `ci_low`, `ci_high` (`""`): exact Clopper–Pearson 95 %',
    ),
    AnalysisFamily(
        ("historical_comparison",),
        "the `crs_rate` counts: `all`, or `high_burden` for a cohort whose `min_marrow_blast_pct` ≥ `high_burden_pct`",
        "cohort `id` of historical_cohorts.yaml",
        "the endpoint (`crs_any`, `crs_grade3plus`, `crs_grade4plus`, `icans_any`, `icans_grade3plus`), named as "
        "in `crs_rate` in the cohort's own scale; (O v3) `crs_grade4` (grade 4 alone) for a cohort that reports "
        'grade 4 alone and no grade-5 count, labelled "grade 4 alone"',
        "`trial_n`, `trial_N`, `trial_p`, `historical_n`, `historical_N`, `historical_p`, `burden_matched` "
        "(`descriptive`); `p_value` (`binom_exact_1s`: one-sided, H1 trial rate < the historical rate taken as "
        "fixed; `fisher_exact`: two-sided); `rd`, `rd_ci_low`, `rd_ci_high` (`newcombe_hybrid`: risk difference "
        "trial − historical, Newcombe hybrid score 95 % CI); `rr`, `rr_ci_low`, `rr_ci_high`, `p_value` "
        "(`katz_log`: risk ratio trial / historical, Wald interval and two-sided test on the log scale, 0.5 added "
        "to every cell if a cell is 0, and the label says so); `prob_lower` (`beta_binomial`: P(p_trial < "
        "p_hist) with Beta(1, 1) priors, by numerical integration); `informative` (`binom_exact_1s`): 1, or 0 when "
        "the historical rate is 0 % or 100 % and the one-sided exact test is degenerate, labelled "
        '"not informative: <reason>" (the report prints that instead of the p-value)',
    ),
    AnalysisFamily(
        ("icans_assessed",),
        "CRS-evaluable (`adsl.crs_evaluable`)",
        "`all`, `high_burden`, `low_burden` (`adsl.high_burden`)",
        "`not_assessed` (n never assessed, `icans.icans_assessed` false, among the N CRS-evaluable); `icans_any`, "
        "`icans_grade3plus` among the assessed only (N = assessed): the sensitivity analysis of the `crs_rate` "
        "ICANS rates, which count the never assessed as grade 0 (grading.md)",
        '`n`, `N`, `p`, `ci_low`, `ci_high` (`""`): exact Clopper–Pearson 95 %',
        note="extra",
    ),
    AnalysisFamily(
        ("participant_flow",),
        "enrolled participants (`adsl`)",
        "the box: `enrolled`, `infused`, `crs_evaluable`, `efficacy_evaluable` (each nested in the one before)",
        "`total`, then the box's outflows in the order they are decided (the first that applies wins, the last is "
        "the rest): `enrolled` → `infused`, `died_before_infusion`, `withdrew_before_infusion`, "
        "`awaiting_infusion`; `infused` → `crs_evaluable`, `withdrew_before_crs_evaluable`, `in_crs_window`; "
        "`crs_evaluable` → `efficacy_evaluable`, `withdrew_before_efficacy_evaluable`, `before_day_42`; "
        "`efficacy_evaluable` → `completed_12_months`, `died`, `withdrew`, `in_follow_up`; and `left` (the box's "
        "participants not in its first outflow)",
        '`n` (`""`): participants; the outflows of a box sum to its `total`',
        note="extra",
    ),
    AnalysisFamily(
        ("response",),
        "efficacy-evaluable (`adsl.efficacy_evaluable`)",
        "`all`",
        "`cr_cri_day28`, `mrd_negative_day28`, `best_cr_cri_3mo`. A missing response or MRD counts as not "
        "responding (n / N over the whole set)",
        '`n`, `N`, `p`, `ci_low`, `ci_high` (`""`)',
    ),
    AnalysisFamily(
        ("km",),
        "the `adtte` population of the parameter: all infused; RFS responders only",
        "`OS`, `EFS`, `RFS`",
        "`month_3`, `month_6`, `month_12`, at 3, 6 and 12 × `days_per_month` (30.4375 d)",
        "`surv` (Kaplan–Meier), `ci_low`, `ci_high` (log-log 95 %, Greenwood variance, as R "
        '`survfit(conf.type = "log-log")`), `n_risk` (`""`)',
    ),
    AnalysisFamily(
        ("cif",),
        "all infused (`adtte` CIR)",
        "`CIR`",
        "`month_3`, `month_6`, `month_12`",
        "`cif` (Aalen–Johansen, as `cmprsk::cuminc`, death without relapse competing), `ci_low`, `ci_high` "
        '(F^exp(±1.96·√var/(F·log F)) with cuminc\'s variance) (`""`)',
    ),
    AnalysisFamily(
        ("follow_up",),
        "all infused (`adtte` OS)",
        "`all`",
        "`months`",
        '`median` (`""`): reverse Kaplan–Meier on OS, in months of 30.4375 d. The label says "(not reached)" '
        "when NaN for that reason",
    ),
    AnalysisFamily(
        ("fever_to_anakinra",),
        "infused participants with both times (non-null)",
        "`all`",
        "`hours` (`fever_to_anakinra_hours`), `trigger_hours` (`trigger_to_anakinra_hours`)",
        '`n`, `median`, `q1`, `q3`, `min`, `max` (`""`), quantiles as R type 7. Negative values are doses before '
        "the fever or the trigger",
    ),
    AnalysisFamily(
        ("map_prior",),
        "the `crs_rate` counts of `all` (for a Penn group the Penn approximation); the studies: confirmed, "
        "like-for-like cohorts compared with the whole trial (`historical_comparison`'s rules; cohorts restricted "
        "to high burden are not pooled), one per overlap group ([choice `map.overlap_representative`]), and with "
        "`--historical-export` the site's own patients (`map.include_site_historical`)",
        "`<endpoint>__<scale>`: `crs_any`, `crs_grade3plus`, `crs_grade4plus` × `penn`, `astct`; `icans_any`, "
        "`icans_grade3plus` × `astct`. A group without a study has no rows and a note in `comparison_notes.json`",
        "`map` (the MAP prior: the predicted rate of a new study like the historical ones, binomial–normal model on "
        "the logit scale, integrated numerically, as a beta mixture), `robust_map` (with Beta(1, 1) of weight "
        "`map.robust_weight`), `posterior` (the trial's posterior under `robust_map`)",
        '`mean`, `sd`, `q025`, `q50`, `q975` (`""`) of each mixture; `ess` (`elir`: expected local-information '
        "ratio, Neuenschwander 2020; `moment`: the moment-matched beta's a + b; as RBesT `ess`); `map`: "
        "`tau_median` (posterior median of τ), `n_studies` (the label lists them with their counts); `map`, "
        "`robust_map`: `prob_lower` (P(trial rate < a new study's rate), the trial's rate with a Beta(1, 1) prior; "
        "exact beta-binomial sum), `conflict_p` (prior-predictive probability of a count no more likely than the "
        "trial's, Box 1980); `posterior`: `trial_n`, `trial_N`; every component of every mixture: `w`, `a`, `b` "
        "(method `comp1` … `robust`). With trial N = 0 the `posterior` summaries, `prob_lower` and `conflict_p` "
        'are NaN, "not estimable (N = 0)"',
        note="O v3",
    ),
    AnalysisFamily(
        ("published_outcome",),
        "—",
        "cohort `id` (confirmed cohorts only)",
        "`orr_3mo`, `cr_best_response`, `cr_cri_best_response_pct` (a bare published percentage), `os_12mo`, `efs_12mo`, `rfs_responders_12mo`",
        '`estimate`, `ci_low`, `ci_high` (`""`): the cohort\'s published figure ÷ 100, as published — the rows of '
        "`published_outcomes.parquet`. The label "
        "gives the cohort name and its definition. NaN when the publication gave no CI. These figures sit beside "
        "the trial's own estimates and are not tested",
        note="extra, not in O",
    ),
    AnalysisFamily(
        ("trial_cox", "trial_logistic"),
        "CRS-evaluable trial participants",
        "the outcome (`os`, `efs`; `severe_crs`)",
        "the model term (`log2_marrow_blasts`, `severe_crs`, …)",
        "Cox proportional hazards with Efron ties (`efron_wald`: `coef`, `hr`, `se`, `hr_ci_low`, `hr_ci_high`, "
        "`p_value`; `efron_lrt`) and ordinary logistic regression (`ml_profile`: odds ratios with "
        'profile-likelihood CIs). Every label ends with the sample-size caveat ("exploratory: N participants, E '
        'events"); a model that cannot be fitted keeps its rows with NaN and "not estimable: reason"',
        note="extra",
    ),
    AnalysisFamily(
        ("cohort_firth_logistic", "cohort_iptw", "cohort_smd", "cohort_km", "cohort_cox", "cohort_logrank"),
        "CRS-evaluable participants of the trial and of the site's historical export, both through the same "
        "ingest and derivations",
        "the outcome or endpoint",
        "the model term (`cohort_trial` = trial vs historical, adjusted for log2 marrow blasts, age and prior HSCT)",
        "Firth penalized logistic regression of severe CRS (`firth_profile`, profile penalized-likelihood CIs, as "
        "R `brglm2`/`logistf`); IPTW sensitivity analysis with stabilized ATE weights (`iptw_ate_robust`, "
        "sandwich CIs) and standardized mean differences before (`unweighted`) and after (`iptw_ate`) weighting; "
        "KM by cohort; Cox (Efron) and log-rank (`logrank`, as R `survdiff`) for OS and EFS by cohort",
        note="extra; only with `--historical-export`",
    ),
    AnalysisFamily(
        ("stopping_rule",),
        "— (the design of the rule in force; `analysis/stats/stopping_design.py`)",
        "the rule: `crs_grade4plus`, `treatment_related_death`",
        "`n_<k>` for k = 1 … `stopping.max_evaluated`; `design`",
        "`boundary` (method = the rule's method, e.g. `thall_simon`): stop when the events among k evaluated reach "
        "it, NaN where no look is made or no count stops; `design`: `threshold` (the method's critical value: "
        "`thall_simon` a posterior probability reached, `bb_calibrated` a posterior probability exceeded, `pocock` "
        "the nominal level, `obf` and `sprt` the statistic's critical value), `alpha` (NaN for `thall_simon`), "
        "`p0`, `type1_error` (exact P(ever stop | p0)), `prior_a`, `prior_b`, `first_look`, `max_evaluated`, and "
        "`p1` for `sprt`",
        note="O v3",
    ),
    AnalysisFamily(
        ("stopping_oc",),
        "—",
        "the rule",
        "`p_<rate>` for each `stopping.oc_true_rates` (e.g. `p_0.25`)",
        "`prob_stop`, `expected_events` (events at stopping, or among all N), `expected_n` (`exact`: recursion over "
        "the binomial paths, `analysis/stats/stopping_oc.py`)",
        note="O v3",
    ),
    AnalysisFamily(
        ("stopping_status",),
        "CRS-evaluable",
        "the rule",
        "`cut`; `n_<k>` for k = 1 … evaluated (extra: the trial's path)",
        "`cut`: `events`, `evaluated`, `boundary` (at `evaluated`; NaN before the first look, between looks or "
        "where no count stops), `crossed` (1/0), `posterior` (P(rate > p0 | data); `thall_simon` and "
        '`bb_calibrated` only) (`""`); `n_<k>`: `events` among the first k evaluated, in order of enrollment '
        "(study identifier)",
        note="O v3",
    ),
)
"""Every ``analysis`` family of the ARD, in the order the docs list them."""

ANALYSES = [analysis for family in ANALYSIS_FAMILIES for analysis in family.analyses]


class Ard(OutputModel):
    """**Grain:** one statistic. **Key (unique):** (`analysis`, `group`, `variable`, `stat_name`, `method`),
    sorted by it. Rules: O "Analysis results that must be in ard.parquet", "Rules for every row";
    code: `analysis/stats/trial_ard.py:build_trial_ard`. Written by the `analyze` step from `adsl`,
    `crs`, `icans`, `anakinra`, `crs_timeline`, `adtte` and `analysis/reference/historical_cohorts.yaml`
    (read and validated once by the step: `analysis/reference/cohorts.py`, a pydantic model; a
    malformed file stops the step with one line naming the cohort and the field, exit code 2).
    """

    analysis: Series[pd.StringDtype] = field("the analysis family (below)", isin=ANALYSES, dtype_kwargs=PYTHON_TEXT)
    group: Series[pd.StringDtype] = field(
        "the group within the family: a subgroup, a parameter or a cohort id", dtype_kwargs=PYTHON_TEXT
    )
    variable: Series[pd.StringDtype] = field("the endpoint or the time point", dtype_kwargs=PYTHON_TEXT)
    stat_name: Series[pd.StringDtype] = field("the statistic", dtype_kwargs=PYTHON_TEXT)
    method: Series[pd.StringDtype] = field(
        "the method when a statistic has several (`historical_comparison`; the rule's method for `stopping_rule`, "
        '`exact` for `stopping_oc`). Otherwise `""`',
        dtype_kwargs=PYTHON_TEXT,
    )
    stat_value: Series[float] = field("the number. NaN when it cannot be estimated", nullable=True)
    stat_label: Series[pd.StringDtype] = field(
        "plain words: what the number is, the CI method, the role of a p-value, the comparison's caveats, and for "
        "a NaN why it is NaN",
        dtype_kwargs=PYTHON_TEXT,
    )

    class Config:
        unique: ClassVar[list[str]] = list(ARD_KEY)

    @pa.dataframe_check
    def sorted_by_key(cls, frame: pd.DataFrame) -> Series[bool]:
        """Sorted by the key it is unique on."""
        return rows_in_key_order(frame, ARD_KEY)


ARD_NOTES = (
    """**Reading `stat_label`.** The label says how to read its row; the numbers never stand alone:
- For a rate or an estimate it names the statistic and its method, e.g. "exact Clopper–Pearson
  95 % CI, lower limit" or "log-log 95 % CI (Greenwood), upper limit".
- For a NaN it gives the reason: "not estimable (N = 0)" for an empty group (then `n` = `N` = 0),
  or "beyond the longest follow-up: not estimable" for a time point past the last follow-up (then
  `n_risk` = 0). A suffix "(not estimable: S = 0 or 1)" or "(not estimable: F = 0 or 1)" means the
  log-log transform is undefined there.
- For a `historical_comparison` p-value it gives the test and the role: "primary analysis,
  one-sided α = 0.05", "supportive, unadjusted for multiplicity", or at an interim look
  "descriptive (interim look)" (with "primary analysis; " in front for the primary one). The
  `trial_p` label carries every caveat of the comparison in brackets.

### The analysis families

| `analysis` | set | `group` | `variable` | `stat_name` (`method`) |
|---|---|---|---|---|
"""
    + "\n".join(family.row() for family in ANALYSIS_FAMILIES)
    + """

On the demo, the ARD holds 1289 rows. Of these, 14 cohort × endpoint comparisons give 18
`historical_comparison` rows each. `RFS` at `month_12` is NaN by construction: RFS starts at
the first CR/CRi and follow-up ends 365.25 days after infusion, so no responder can be followed 12
months from remission.

**Which comparisons are made** (O "Comparisons"; `analysis/stats/historical.py:plan_comparisons`):
- A cohort × endpoint is **skipped** when the cohort has `confirmed: false`, an unknown CRS scale
  (for a CRS endpoint), a null count or a null `n_infused`, or for an ICANS endpoint neurotoxicity
  not graded as ASTCT ICANS. Every reason is listed in `comparison_notes.json`
  (`{"skipped_comparisons": [...]}`, one sentence per skipped pair) and in
  `comparison_plan.parquet` (`not_compared_reasons`). Skipped pairs have no ARD rows.
- Grade ≥ 4 for a cohort is `crs_grade4_n + crs_grade5_n`. It is skipped if the grade-5 count is
  null.
- **Grade 4 alone** (O v3): a cohort that reports `crs_grade4_n` but no `crs_grade5_n` (the CHOP
  cohorts `kadauke_pt_htb`, `kadauke_stdcrs_htb_historical`) is compared on `crs_grade4`, as it
  was published, against the trial's `crs_grade4` (its `crs_penn_grade4` for a Penn cohort), with
  every method; the `trial_p` label says "grade 4 alone". Other cohorts have no `crs_grade4` row.
- `burden_matched` = 1 when the cohort has a marrow-blast floor of at least the trial's 5 %. A
  cohort with no floor is compared with `burden_matched` = 0 and labelled "not burden-matched".
- Cohorts that overlap ELIANA (ELIANA itself, the n = 79 ELIANA cut, the pooled ELIANA + ENSIGN
  analysis) are labelled "overlaps ELIANA (shared patients): not independent evidence".
- **Primary** ([choice `primary`], O "Primary analysis"): the `binom_exact_1s` p-value of cohort
  `primary.comparator` (`eliana_2018`) × endpoint `primary.endpoint` (`crs_grade3plus`). It is
  labelled primary. Every other p-value is supportive and unadjusted for multiplicity.
- **Interim look:** while any enrolled participant is `adsl.ongoing_at_cut`, every p-value label
  reads "descriptive (interim look)". The demo is an interim look.

### Why Penn and ASTCT are never compared with each other, and the approximation's bias

The ASTCT 2019 scale and the Penn scale grade the same physiology differently. For example, Penn
grade 3 takes any vasopressor or any supplemental oxygen. ASTCT grade 3 takes one vasopressor or
high-flow oxygen, and grades low-flow oxygen as 2. Penn also uses organ, coagulation and dialysis
criteria that ASTCT ignores. In practice ASTCT grades are mostly at or below Penn grades: in the
JULIET re-grading, 23 of 64 patients were graded lower on ASTCT and 4 higher (G "CRS, Penn
scale"). A difference between a trial's ASTCT rate and a cohort's Penn rate would therefore
measure the scales, not the treatment. The pipeline never compares the trial's ASTCT grade with
a Penn grade, or its Penn approximation with an ASTCT grade:
- A Penn-graded cohort (ELIANA, ENSIGN, the CHOP pre-emptive tocilizumab cohorts) is compared only
  with the trial's **Penn approximation** (`crs_penn_grade3plus`, `crs_penn_grade4plus`). The ARD
  `variable` is still `crs_grade3plus`, the endpoint "in the scale of the cohort". The `trial_p`
  label names the trial variable actually used.
- An ASTCT-graded cohort is compared only with the trial's ASTCT grade (`crs_grade3plus`,
  `crs_grade4plus`).
- `crs_any` is the same on both scales, because CRS onset is the first fever on both.

**The bias.** The export has no organ labs, no coagulation and no dialysis, so the approximation
is built from physiology alone. It can only **under-grade** grades 3–4 (G "Bias"). The trial's
Penn rates are therefore lower bounds of its true Penn rates. In every comparison with a Penn
cohort:
- the risk difference is biased downwards and the risk ratio towards < 1;
- the one-sided p-value and `prob_lower` are biased in PACER's favour.

**The comparison favours PACER by construction.** It includes the primary comparison against
ELIANA. A "significant" reduction against a Penn cohort is weaker evidence than it looks. A
result that shows no reduction cannot be explained by the bias. Every such comparison says so in
its `trial_p` label: "Penn-graded
cohort: trial graded by the Penn approximation, which can only under-grade grades 3–4 (the
comparison favours PACER by construction)". The report repeats the caveat."""
)


BOOTSTRAP_STATISTICS = ["trial_p", "historical_p", "rd"]
"""The bootstrapped statistics, one row each (as ``analysis.stats.iptw_bootstrap.STATISTICS``)."""


class IptwBootstrap(OutputModel):
    """**Grain:** one bootstrapped statistic. **Key:** `statistic`. Written by `pacer bootstrap` after
    `pacer run --historical-export` (code: `analysis/stats/iptw_bootstrap.py`): the stratified bootstrap of
    the IPTW (ATE) severe-CRS risks and their difference, trial − historical, beside the ARD's sandwich
    figures (`cohort_iptw`). A sensitivity analysis; neither interval is the primary analysis. Its
    provenance adds `historical_input_sha256` and `bootstrap` (replicates, seed, block size, estimand,
    resampling).
    """

    statistic: Series[str] = field(
        "`trial_p` and `historical_p` (the weighted risks of severe CRS), `rd` (their difference, trial − historical)",
        unique=True,
        isin=BOOTSTRAP_STATISTICS,
        extra=True,
    )
    estimate: Series[float] = field(
        "the IPTW estimate on the observed data (as the ARD's `cohort_iptw` rows)", extra=True
    )
    boot_se: Series[float] = field(
        "bootstrap standard error: the standard deviation of the replicates (n − 1)", nullable=True, ge=0, extra=True
    )
    boot_ci_low: Series[float] = field(
        "percentile interval, lower limit: the `alpha`/2 quantile of the replicates (type 7)", nullable=True, extra=True
    )
    boot_ci_high: Series[float] = field(
        "percentile interval, upper limit: the 1 − `alpha`/2 quantile of the replicates (type 7)",
        nullable=True,
        extra=True,
    )
    sandwich_se: Series[float] = field(
        "HC0 sandwich standard error of the same data (`rd` only; NaN for the risks)", nullable=True, ge=0, extra=True
    )
    sandwich_ci_low: Series[float] = field("sandwich interval, lower limit (`rd` only)", nullable=True, extra=True)
    sandwich_ci_high: Series[float] = field("sandwich interval, upper limit (`rd` only)", nullable=True, extra=True)
    replicates: Series[int] = field("replicates drawn", ge=1, extra=True)
    failed: Series[int] = field(
        "replicates whose propensity model could not be fitted (left out of the summary)", ge=0, extra=True
    )
    estimand: Series[str] = field("`ATE`", isin=["ATE"], extra=True)
    alpha: Series[float] = field("1 − the intervals' level (0.05: 95 %)", gt=0, lt=1, extra=True)
    seed: Series[int] = field("the seed of the replicates' random streams (`iptw_bootstrap.seed`)", extra=True)

    @pa.dataframe_check
    def no_more_failures_than_replicates(cls, frame: pd.DataFrame) -> Series[bool]:
        """A replicate either fits or fails."""
        return frame["failed"] <= frame["replicates"]


RESULT_TABLES = (
    OutputTable("ard.parquet", Ard, "Analysis Results Data", "derived", ARD_KEY, notes=ARD_NOTES),
    OutputTable(
        "iptw_bootstrap.parquet",
        IptwBootstrap,
        "the IPTW bootstrap (`pacer bootstrap`)",
        "derived",
        BOOTSTRAP_KEY,
    ),
)
