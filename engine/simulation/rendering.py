"""The year's report for people: a few lines on the terminal, and a page of charts (one HTML file, no script, opens
anywhere) for the bureau to keep beside the JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

_TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html"]),
                         trim_blocks=True, lstrip_blocks=True)
_TEMPLATES.filters["dictsum"] = lambda counts: sum(counts.values())


def summary(report: dict[str, Any]) -> str:
    """The headline figures, for the terminal."""
    outcome, cost = report["outcome"], report["cost"]
    instances = sum(sum(p["instances"].values()) for p in outcome["processes"])
    tasks = sum(sum(p["tasks"].values()) for p in outcome["processes"])
    completed = sum(p["tasks"].get("completed", 0) for p in outcome["processes"])
    layout = (f", {cost['web_processes']} web and {cost['worker_processes']} worker process(es)"
              if cost.get("web_processes") or cost.get("worker_processes") else "")
    lines = [f"simulated {report['year']} ({report['profile']} profile, seed {report['seed']}) on {cost['database']}"
             f"{layout}: {cost['wall_seconds']:.0f} s, {cost['commands']:,} commands in the simulator "
             f"({cost['commands_per_second']}/s), database {cost['database_bytes'] / 2**20:.1f} MiB",
             f"  {instances:,} instances, {tasks:,} tasks ({completed:,} completed)",
             "  process                          instances  tasks  done %  overdue %"]
    for row in outcome["processes"]:
        lines.append(f"  {row['process']:<32} {sum(row['instances'].values()):>9,} {sum(row['tasks'].values()):>6,}"
                     f" {_percent(row['completion_rate']):>7} {_percent(row['overdue_rate']):>10}")
    for rollout in outcome["rollouts"]:
        measure = rollout[rollout["measure"]] if rollout["measure"] in ("people", "units") else rollout["units"]
        lines.append(f"  rollout {rollout['process']} {rollout['business_key'] or ''}: "
                     f"{_percent(rollout['percent'])} of {measure['total']:,} {rollout['measure']}")
    for month in outcome["monthly_scores"]:
        totals = month["totals"]
        lines.append(f"  monthly check {month['month']}: {totals['checks_completed']}/{totals['schools']} schools, "
                     f"mean score {totals['mean_score']}, {totals['late_schools']} late")
    slowest = cost["slowest_commands"][:3]
    lines.append("  slowest commands (p99): " + ", ".join(f"{c['command']} {c['p99_ms']} ms" for c in slowest))
    kept = cost.get("retention")
    if kept:
        lines.append("  retention at the year's end: deleted " + ", ".join(
            f"{n:,} {kind.replace('_', ' ')}" for kind, n in kept["deleted"].items())
            + f"; database then {kept['database_bytes_after'] / 2**20:.1f} MiB")
    largest = cost["largest_instance"]
    if largest:
        lines.append(f"  largest instance: {largest['process']} at {largest['unit']}, "
                     f"{largest['stored_bytes'] / 1024:.0f} KiB stored, {largest['tasks']:,} tasks")
    refused = outcome["people"]["answers_refused"]
    if refused:
        lines.append(f"  answers the engine refused ({len(refused)} step(s)): " + "; ".join(
            f"{where}: {why}" for where, why in list(refused.items())[:5]))
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def html_page(report: dict[str, Any]) -> str:
    """The report as one page with bar charts drawn in SVG."""
    months = [m["month"] for m in report["outcome"]["monthly_scores"]]
    counties: dict[str, dict[str, Any]] = {}
    for month in report["outcome"]["monthly_scores"]:
        for county in month["counties"]:
            counties.setdefault(county["county"], {"name": county["name"], "scores": {}})["scores"][month["month"]] \
                = county["mean_score"]
    rollouts = [{**r, "label": f"{r['name'] or r['process']} {r['business_key'] or ''}"}
                for r in report["outcome"]["rollouts"]]
    page = {**report, "outcome": {**report["outcome"], "rollouts": rollouts}}
    return _TEMPLATES.get_template("report.html").render(report=page, months=months, counties=counties)
