"""The report's first section: the model that ships, as a card a user reads in one screen.

Which model, how good it is in int8 (and float, and the drop), how big, how much RAM, how fast on
the measured device (an Edge TPU figure is always labelled an estimate), whether it met the budget,
how much of it maps to the Edge TPU, and the commands that run it. Read from export/export.json
and best_trial.json; what is missing says so.
"""

from __future__ import annotations

from typing import Any

from zazu.budget import describe_target, has_budget, over_budget
from zazu.report.html import esc, not_available
from zazu.report.run_reader import RunData, numbers_only

MAX_CLASSES_NAMED = 12
SHIPPED_FILE = "export/model_int8.tflite"


def size_text(num_bytes: float) -> str:
    """Bytes as whole KiB below 1 MiB, else MiB with two decimals."""
    kib = num_bytes / 1024
    return f"{kib:.0f} KiB" if kib < 1024 else f"{kib / 1024:.2f} MiB"


def share_text(share: Any) -> str:
    """A share in [0, 1] as a percentage; '?' when it is not one."""
    if isinstance(share, (int, float)) and not isinstance(share, bool) and 0 <= share <= 1:
        return f"{share * 100:.0f}%" if share in (0, 1) or 0.01 <= share <= 0.99 else f"{share * 100:.1f}%"
    return "?"


def _part(record: dict | None, key: str) -> dict:
    """`record[key]` when it is a dict (a run folder's files may lack it or hold something else), else {}."""
    value = (record or {}).get(key)
    return value if isinstance(value, dict) else {}


def _tile(value: str, label: str, detail: str = "", css: str = "", check: str = "") -> str:
    mark = f" data-check=\"tile-{esc(check)}\"" if check else ""
    return (f"<div class=\"tile {css}\"{mark}><div class=\"value\">{esc(value)}</div>"
            f"<div class=\"label\">{esc(label)}</div>"
            + (f"<div class=\"detail\">{esc(detail)}</div>" if detail else "") + "</div>")


def _metric_tile(run: RunData) -> str:
    objective = run.objective or "metric"
    variants = _part(run.export, "metrics")
    int8 = numbers_only(variants.get("int8")).get(objective)
    float_ = numbers_only(variants.get("keras")).get(objective)
    if int8 is None:
        int8 = numbers_only((run.best or {}).get("int8_metrics")).get(objective)
    if float_ is None:
        float_ = numbers_only((run.best or {}).get("metrics")).get(objective)
    if int8 is None and float_ is None:
        return _tile("?", f"int8 {objective}", "no metrics in export.json or best_trial.json", "missing", "metric")
    if int8 is None:
        return _tile(f"{float_:.3f}", f"{objective} (float; no int8 score)", check="metric")
    detail = ""
    if float_ is not None:
        loss = (float_ - int8) if run.direction == "max" else (int8 - float_)  # what int8 cost, in the objective
        detail = (f"float {float_:.3f}, int8 loses {loss:.3f}" if loss > 0
                  else f"float {float_:.3f}, int8 loses nothing" if loss == 0
                  else f"float {float_:.3f}, int8 better by {-loss:.3f}")
    return _tile(f"{int8:.3f}", f"int8 {objective} (validation)", detail, "lead", "metric")


def _profile(run: RunData) -> dict[str, float]:
    return numbers_only(_part(run.export, "profile").get("int8"))


def _size_tiles(run: RunData) -> list[str]:
    profile, cost = _profile(run), numbers_only((run.best or {}).get("cost"))
    tiles = []
    if "file_size_bytes" in profile:
        tiles.append(_tile(size_text(profile["file_size_bytes"]), "int8 file",
                           f"{profile['parameters'] / 1e6:.2f} M parameters" if "parameters" in profile else "",
                           check="size"))
    elif "model_kb" in cost:
        tiles.append(_tile(size_text(cost["model_kb"] * 1024), "int8 file", check="size"))
    if "ram_kb" in cost:
        peak = profile.get("peak_activation_bytes")
        tiles.append(_tile(size_text(cost["ram_kb"] * 1024), "RAM running it (LiteRT process, measured)",
                           f"peak activations {size_text(peak)}" if peak else "", check="ram"))
    elif "peak_activation_bytes" in profile:
        tiles.append(_tile(size_text(profile["peak_activation_bytes"]), "peak activations", check="ram"))
    return tiles


def _latency_tile(run: RunData) -> str:
    best_cost = _part(run.best, "cost")
    source = str(best_cost.get("latency_source") or "")
    profile = _profile(run)
    if source.startswith("estimate") and isinstance(best_cost.get("latency_ms"), (int, float)):
        return _tile(f"{best_cost['latency_ms']:.2f} ms", "latency on the Edge TPU: an estimate", source, check="latency")
    if "latency_median_ms" in profile:
        threads = int(profile.get("num_threads", 0)) or "?"
        p90 = f", p90 {profile['latency_p90_ms']:.2f} ms" if "latency_p90_ms" in profile else ""
        return _tile(f"{profile['latency_median_ms']:.2f} ms", "latency, median (this CPU, measured)",
                     f"LiteRT, {threads} threads{p90}", check="latency")
    if isinstance(best_cost.get("latency_ms"), (int, float)):
        return _tile(f"{best_cost['latency_ms']:.2f} ms", "latency", source, check="latency")
    return _tile("?", "latency", "not measured", "missing", "latency")


def _budget_tile(run: RunData) -> str:
    target = (run.best or {}).get("target")
    if not isinstance(target, dict):
        target = (run.config or {}).get("target")
    if not isinstance(target, dict):
        return _tile("?", "budget", "the run names no target", "missing", "budget")
    try:
        if not has_budget(target):
            return _tile("none set", "device budget", f"device: {target.get('device', 'cpu')}", check="budget")
        cost = _part(run.best, "cost")
        broken = over_budget(target, cost) if cost else None
    except (KeyError, TypeError, ValueError):
        return _tile("?", "device budget", "unreadable target", "missing", "budget")
    if broken is None:
        return _tile("unknown", "device budget", describe_target(target), "missing", "budget")
    return (_tile("met", "device budget", describe_target(target), "good", "budget") if not broken
            else _tile("not met", "device budget", "; ".join(broken), "bad", "budget"))


def _edgetpu_tile(run: RunData) -> str:
    edgetpu = (run.export or {}).get("edgetpu")
    if not isinstance(edgetpu, dict) or "mapped_ops_share" not in edgetpu:
        return _tile("?", "Edge TPU", "no Edge TPU check in export.json", "missing", "edgetpu")
    compiler = _part(edgetpu, "compiler")
    compiled = "compiled by edgetpu_compiler" if compiler.get("available") else \
        "by Zazu's op check (edgetpu_compiler not installed)"
    macs = share_text(edgetpu.get("mapped_macs_share"))
    fallback = edgetpu.get("first_fallback")
    detail = f"{edgetpu.get('ops_mapped', '?')}/{edgetpu.get('ops_total', '?')} ops, {macs} of MACs, {compiled}"
    if fallback:
        detail += f"; first op on the CPU: {fallback}"
    css = "good" if edgetpu.get("mapped_ops_share") == 1 else ""
    return _tile(share_text(edgetpu.get("mapped_ops_share")), "of the ops map to the Edge TPU", detail, css, "edgetpu")


def _classes_text(run: RunData) -> str:
    classes = (run.export or {}).get("classes")
    if not isinstance(classes, list) or not classes:
        return ""
    named = ", ".join(str(c) for c in classes[:MAX_CLASSES_NAMED])
    more = f" and {len(classes) - MAX_CLASSES_NAMED} more" if len(classes) > MAX_CLASSES_NAMED else ""
    return f"{len(classes)} classes: {named}{more}"


def commands(run: RunData) -> list[str]:
    model = run.run_dir / SHIPPED_FILE
    return [f"zazu predict {model} IMAGES... --draw", f"zazu serve {model} --port 5000",
            f"zazu evaluate {model}"]


def model_card(run: RunData, figures) -> str:
    """The card: which model ships, its figures as tiles, the commands that run it."""
    if run.best is None and run.export is None:
        return not_available(run.why("best_trial.json") + "; " + run.why("export/export.json"))
    shipped = run.export or run.best or {}
    name = f"{shipped.get('model', '?')} #{shipped.get('trial_id', '?')}"
    size = (run.export or {}).get("input_size")
    facts = [run.task or "unknown task", _classes_text(run),
             f"input {size[0]}x{size[1]} px" if isinstance(size, list) and len(size) == 2 else ""]
    chosen = (run.best or {}).get("chosen_by")
    lead = (f"<p class=\"lead\" data-check=\"shipped\"><strong>{esc(name)}</strong> ships as <code>{esc(SHIPPED_FILE)}</code> "
            f"({esc(' · '.join(f for f in facts if f))})"
            + (f", chosen by its {esc(chosen)}." if chosen else ".") + "</p>")
    tiles = [_metric_tile(run), *_size_tiles(run), _latency_tile(run), _edgetpu_tile(run), _budget_tile(run)]
    run_it = ("<h3>Run it</h3><pre class=\"commands\" data-check=\"commands\">" + esc("\n".join(commands(run))) + "</pre>"
              if run.export is not None else not_available(run.why("export/export.json") + ": nothing exported yet"))
    return lead + "<div class=\"tiles\">" + "".join(tiles) + "</div>" + run_it
