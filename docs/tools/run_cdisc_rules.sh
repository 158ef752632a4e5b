#!/usr/bin/env bash
# Run CDISC CORE rules (cdisc-rules-engine, offline, no CDISC Library cache) on the
# ADaM datasets that `pacer export` writes, and write a per-rule, per-dataset report.
#
# usage: run_cdisc_rules.sh RULES_DIR PACER_OUT_DIR [xpt|json] [REPORT_DIR]
#   RULES_DIR      folder of CORE rule YAML files (e.g. copies of cdisc-open-rules
#                  Published/*/rule.yml and Unpublished/ADAMIG/*/*.yml); searched
#                  recursively, test-data folders (positive/, negative/) are ignored.
#                  The rules are not part of this project and are not shipped with it.
#   PACER_OUT_DIR  a `pacer run --export-format xpt` (or `pacer export`) output folder;
#                  the datasets are read from PACER_OUT_DIR/adam/*.xpt (or *.json, the
#                  CDISC Dataset-JSON files) and PACER_OUT_DIR/adam/define.xml.
#   format         xpt (default) or json
#   REPORT_DIR     where cdisc_rules_<format>.json / .tsv go (default: PACER_OUT_DIR/adam)
#
# environment:
#   CRE_VENV       Python >= 3.12 venv holding cdisc-rules-engine (default /tmp/cdisc-cre);
#                  created with `$CRE_PYTHON -m venv` + `pip install cdisc-rules-engine==0.17.1`
#                  when it does not exist (needs the package index, nothing else).
#   CRE_PYTHON     Python 3.12 used to create the venv (default: pyenv's 3.12, else python3.12)
#   CRE_NO_PATCH=1 do not apply the data-structure work-around described below.
#
# What the engine can and cannot do here: the PyPI package ships no rules and no CDISC
# Library cache (that needs resources/cache/*.pkl from the engine repository or an API
# key). Rules whose checks only look at the data (variable presence, values, regexes,
# uniqueness) run without it; operations that read library/CT metadata (codelist_*,
# required_/expected_/permissible_variables, get_model_*, library column order, ...)
# would find nothing. The engine does not read def:Class/def:SubClass from define.xml;
# it guesses the ADaM data structure from the dataset (ADSL by name; PARAM/AVAL/AVALC
# -> BDS; a *TERM/*TRT variable -> OCCDS) and ignores the rules' Scope.Subclasses.
set -euo pipefail

rules_dir=${1:?usage: $0 RULES_DIR PACER_OUT_DIR [xpt|json] [REPORT_DIR]}
out_dir=${2:?usage: $0 RULES_DIR PACER_OUT_DIR [xpt|json] [REPORT_DIR]}
fmt=${3:-xpt}
report_dir=${4:-$out_dir/adam}
venv=${CRE_VENV:-/tmp/cdisc-cre}

case $fmt in xpt|json) ;; *) echo "format must be xpt or json" >&2; exit 2;; esac
[ -d "$rules_dir" ] || { echo "no rules folder: $rules_dir" >&2; exit 2; }
ls "$out_dir"/adam/*."$fmt" >/dev/null 2>&1 || {
  echo "no $out_dir/adam/*.$fmt: run 'pacer export --processed $out_dir --format ${fmt/json/dataset-json}' first" >&2; exit 2; }

if [ ! -x "$venv/bin/python" ]; then
  py=${CRE_PYTHON:-}
  if [ -z "$py" ]; then
    if command -v pyenv >/dev/null 2>&1 && pyenv prefix 3.12 >/dev/null 2>&1; then
      py="$(pyenv prefix 3.12)/bin/python3.12"
    else
      py=python3.12
    fi
  fi
  "$py" -m venv "$venv"
  "$venv/bin/pip" install --quiet 'cdisc-rules-engine==0.17.1'
fi
mkdir -p "$report_dir"

"$venv/bin/python" - "$rules_dir" "$out_dir/adam" "$report_dir" "$fmt" <<'PY'
import glob, json, os, re, sys, traceback, warnings
warnings.simplefilter("ignore")
import yaml
import cdisc_rules_engine as cre
from importlib.metadata import version
from cdisc_rules_engine.models.rule import Rule
from cdisc_rules_engine.models.library_metadata_container import LibraryMetadataContainer
from cdisc_rules_engine.rules_engine import RulesEngine
from cdisc_rules_engine.services import logger as engine_logger
from cdisc_rules_engine.services.cache import InMemoryCacheService
from cdisc_rules_engine.services.data_services import base_data_service as bds

rules_dir, data_dir, report_dir = (os.path.abspath(a) for a in sys.argv[1:4])
fmt = sys.argv[4]
engine_logger.disabled = True

# Work-around (cdisc-rules-engine 0.17.1): BaseDataService.get_data_structure reads
# dataset_metadata.data.columns, which SDTMDatasetMetadata does not have, so every rule
# scoped by "Data Structures" fails with "'SDTMDatasetMetadata' object has no attribute
# 'data'" on every dataset but ADSL. Same logic, columns taken from the first record.
_orig = bds.BaseDataService.get_data_structure
def _data_structure(self, md):
    if hasattr(md, "data") or os.environ.get("CRE_NO_PATCH"):
        return _orig(self, md)
    cols = list((md.first_record or {}).keys())
    class _View:
        name = md.name
        class data:
            class columns:
                tolist = staticmethod(lambda: cols)
    return _orig(self, _View)
bds.BaseDataService.get_data_structure = _data_structure

paths = sorted(p for p in glob.glob(os.path.join(data_dir, f"*.{fmt}"))
               if not os.path.basename(p).startswith("ard_"))
define = os.path.join(data_dir, "define.xml")
# The engine opens resources/schema/*.json (Dataset-JSON schema) relative to the
# working directory; the wheel installs that folder next to the package.
os.chdir(os.path.dirname(os.path.dirname(cre.__file__)))

engine = RulesEngine(
    cache=InMemoryCacheService.get_instance(), standard="adamig", standard_version="1-3",
    library_metadata=LibraryMetadataContainer(), dataset_paths=paths,
    define_xml_path=define if os.path.exists(define) else None,
    max_dataset_size=max(os.path.getsize(p) for p in paths))

rule_files = sorted(
    f for f in glob.glob(os.path.join(rules_dir, "**", "*.y*ml"), recursive=True)
    if not re.search(r"/(positive|negative)/", f))
report = {"engine": f"cdisc-rules-engine {version('cdisc-rules-engine')}",
          "standard": "adamig 1-3", "datasets": [os.path.basename(p) for p in paths],
          "define_xml": os.path.exists(define), "rules": []}
rows = []
for f in rule_files:
    with open(f) as fh:
        meta = yaml.safe_load(fh) or {}
    core_id = (meta.get("Core") or {}).get("Id")
    entry = {"file": os.path.relpath(f, rules_dir), "core_id": core_id,
             "description": meta.get("Description"), "rule_type": meta.get("Rule Type")}
    if not meta.get("Authorities"):
        # a rule file trimmed to its executable part: the engine needs a standard and a
        # rule identifier; take the number at the end of the CORE id
        num = re.findall(r"(\d+)", str(core_id))
        meta["Authorities"] = [{"Organization": "CDISC", "Standards": [{
            "Name": "ADaMIG", "Version": "1.3", "References": [{
                "Origin": "ADaM Conformance Rules", "Version": "5.0",
                "Rule Identifier": {"Id": str(int(num[-1])) if num else ""}}]}]}]
    try:
        res = engine.validate_single_rule(Rule.from_cdisc_metadata(meta))
        entry["results"] = {ds: [{"status": r.get("executionStatus"), "message": r.get("message"),
                                  "n_errors": len(r.get("errors") or []),
                                  "errors": (r.get("errors") or [])[:50]} for r in rs]
                            for ds, rs in res.items()}
        for ds, rs in entry["results"].items():
            for r in rs:
                detail = ""
                if r["status"] != "success" and r["errors"]:
                    e0 = r["errors"][0]
                    detail = e0.get("message") or e0.get("error") or ""
                    if "value" in e0:
                        detail = json.dumps(e0["value"], default=str)[:200]
                rows.append([core_id, ds, r["status"], str(r["n_errors"]),
                             (r["message"] or "").replace("\t", " "), str(detail).replace("\t", " ")])
    except Exception as e:  # a rule the engine cannot even load
        entry["exception"] = f"{type(e).__name__}: {e}"
        entry["traceback"] = traceback.format_exc()[-2000:]
        rows.append([core_id, "-", "rule not loadable", "0", entry["exception"], ""])
    report["rules"].append(entry)

with open(os.path.join(report_dir, f"cdisc_rules_{fmt}.json"), "w") as fh:
    json.dump(report, fh, indent=1, default=str)
with open(os.path.join(report_dir, f"cdisc_rules_{fmt}.tsv"), "w") as fh:
    fh.write("core_id\tdataset\tstatus\tn_errors\tmessage\tfirst_error\n")
    for r in rows:
        fh.write("\t".join(str(x) for x in r) + "\n")
count = {}
for r in rows:
    count[r[2]] = count.get(r[2], 0) + 1
print(f"{len(rule_files)} rules x {len(paths)} datasets: " +
      ", ".join(f"{k}={v}" for k, v in sorted(count.items())))
for r in rows:
    if r[2] == "issue reported":
        print("  ISSUE", r[0], r[1], r[4])
print("report:", os.path.join(report_dir, f"cdisc_rules_{fmt}.tsv"))
PY
