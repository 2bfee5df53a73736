"""The workspace benchmark's figures as Markdown tables and a chart (``bench/results/workspace.png``).

Kept apart from :mod:`bench.workspace` (which runs the scenario) so that the tables can be made
again from a saved ``workspace.json`` without running anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _s(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def setup_name(run: dict[str, Any]) -> str:
    """``SQLite, 1 process`` / ``PostgreSQL, 3 processes``."""
    db = "SQLite" if run["database"] == "sqlite" else "PostgreSQL"
    count = run["processes"]
    return f"{db}, {count} process{'' if count == 1 else 'es'}"


def _lost_twice(run: dict[str, Any]) -> str:
    notes = run["notes"]
    return f"{_lost(notes)} / {notes['echoed_twice']}"


def _lost(notes: dict[str, Any]) -> str:
    """Notes missing from their meeting's minutes, and those whose meeting's end was refused."""
    not_ended = notes.get("in_meetings_not_ended", 0)
    return f"{notes['missing_from_minutes']}" + (f" ({not_ended} not ended)" if not_ended else "")


def _never(stat: dict[str, Any], key: str) -> str:
    missing = stat.get(key, 0)
    return f" ({missing} never)" if missing else ""


def short_table(results: dict[str, Any]) -> str:
    """The README's table: one line per run."""
    lines = [
        f"{results['date']}, {results['commit']}, {results['machine']['cores']} cores {results['machine']['cpu']}; "
        f"{results['scenario']['minutes']:g}-minute meetings; seconds.",
        "",
        "| bots | meetings | ack p99 | note shown p50 / p95 | move / click shown p95 | minutes p95 "
        "| 429s / early | lost / twice |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in results["runs"]:
        notes, api = run["notes"]["visible_s"], run["web_api"]
        bots = f"{'SQLite' if run['database'] == 'sqlite' else 'PostgreSQL'} ×{run['processes']}"
        lines.append(
            f"| {bots} | {run['meetings']} | {_s(run['ack_ms']['p99'], 0)} ms "
            f"| {_s(notes['p50'])} / {_s(notes['p95'])} | {_s(run['agenda_move_s']['p95'])} / "
            f"{_s(run['agenda_click_s']['p95'])} | {_s(run['minutes_s']['p95'])} "
            f"| {api['refused_429']} / {api['early']} "
            f"| {_lost_twice(run)} |"
        )
    return "\n".join(lines)


def full_table(results: dict[str, Any]) -> str:
    """docs/performance.md's tables: every figure of every run, the goals met or not, Slack's budget."""
    m = results["machine"]
    scenario = results["scenario"]
    lines = [
        f"Measured {results['date']} at {results['commit']} on {m['cores']} cores ({m['cpu']}), "
        f"{m['memory_gib']} GiB, Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}; "
        f"{scenario['minutes']:g}-minute meetings, seed {scenario['seed']}. Times in seconds unless marked.",
        "",
        "| setup | meetings | requests answered | ack p50 / p99 | note shown p50 / p95 / max | move shown p95 "
        "| click shown p95 | minutes p95 | Web API calls / note | 429s | before Retry-After | lost | echoed twice "
        "| others' CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in results["runs"]:
        req, ack, notes = run["requests"], run["ack_ms"], run["notes"]
        shown, api = notes["visible_s"], run["web_api"]
        lines.append(
            f"| {setup_name(run)} | {run['meetings']} | {req['answered']} / {req['sent']} "
            f"| {_s(ack['p50'], 0)} / {_s(ack['p99'], 0)} ms "
            f"| {_s(shown['p50'])} / {_s(shown['p95'])} / {_s(shown['max'])}{_never(notes, 'never_visible')} "
            f"| {_s(run['agenda_move_s']['p95'])}{_never(run['agenda_move_s'], 'never')} "
            f"| {_s(run['agenda_click_s']['p95'])}{_never(run['agenda_click_s'], 'never')} "
            f"| {_s(run['minutes_s']['p95'])}{_never(run['minutes_s'], 'missing')} "
            f"| {_s(api['per_note'])} | {api['refused_429']} ({100 * api['share_429']:.1f}%) | {api['early']} "
            f"| {_lost(notes)} | {notes['echoed_twice']} | {run.get('other_cpu_pct', 0):.0f}% |"
        )
    lines += ["", "Issue 15's goals (a note may take 15 s at 100 meetings, 5 s below):", ""]
    names = list(results["runs"][0]["goals"]) if results["runs"] else []
    heads = [n.replace("|", "/").replace("<= 5 s", "<= 5 s (15 s at 100)") for n in names]
    lines.append("| setup | meetings | " + " | ".join(heads) + " |")
    lines.append("| --- | ---: |" + " :---: |" * len(names))
    for run in results["runs"]:  # by position: the note's goal is named with its own limit (5 s or 15 s)
        marks = " | ".join("pass" if met else "**fail**" for met in run["goals"].values())
        lines.append(f"| {setup_name(run)} | {run['meetings']} | {marks} |")
    lines += ["", "Slack's budget against what the scenario asks (each channel getting a fair share):", ""]
    lines.append(
        "| meetings | notes a minute | agendas (posts) | echo posts a channel gets a minute "
        "| note p95 floor (separate headings) | agenda changes | one chat.update a channel every | minutes p95 floor "
        "| people to name |"
    )
    lines.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for b in results["budget"]:
        lines.append(
            f"| {b['meetings']} | {b['notes_per_minute']} (postMessage: {b['post_message_per_minute']:g}) "
            f"| {b['structural_posts']} | {b['echo_posts_per_channel_per_minute']:.2f} "
            f"| {_s(b['note_p95_floor_s'])} s ({_s(b.get('note_p95_floor_separate_headings_s'))} s) "
            f"| {b['agenda_changes']} (chat.update: {b['chat_update_per_minute']:g}/min) "
            f"| {b['agenda_update_interval_s']:.0f} s | {b['minutes_upload_p95_floor_s']:.0f} s "
            f"| {b['users_to_name']} ({b['users_info_minutes']:g} min of users.info) |"
        )
    return "\n".join(lines)


def chart(results: dict[str, Any], path: Path) -> None:
    """Note shown (p50, p95), agenda shown (p95) and minutes (p95) by meetings, and the 429 share,
    one line per setup, with the goals drawn in."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    setups: dict[str, list[dict[str, Any]]] = {}
    for run in results["runs"]:
        setups.setdefault(setup_name(run), []).append(run)
    panels = (
        ("note shown in Slack (s)", (("p50", lambda r: r["notes"]["visible_s"]["p50"], ":"),
                                     ("p95", lambda r: r["notes"]["visible_s"]["p95"], "-")), (5, 15)),
        ("agenda shows a move / a click, p95 (s)", (("move", lambda r: r["agenda_move_s"]["p95"], "-"),
                                                    ("click", lambda r: r["agenda_click_s"]["p95"], "--")), (3,)),
        ("minutes uploaded after /review end, p95 (s)", (("", lambda r: r["minutes_s"]["p95"], "-"),), (20,)),
        ("Web API calls refused with 429 (%)", (("", lambda r: 100 * r["web_api"]["share_429"], "-"),), (2,)),
    )  # fmt: skip
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), squeeze=False)
    colors = ("tab:blue", "tab:orange", "tab:green", "tab:red")
    for ax, (title, series, limits) in zip(axes[0], panels, strict=True):
        for color, (name, runs) in zip(colors, setups.items(), strict=False):
            xs = [r["meetings"] for r in runs]
            for label, value, style in series:
                ys = [value(r) for r in runs]
                ax.plot(xs, [float("nan") if y is None else y for y in ys], style, marker="o", color=color,
                        label=f"{name} {label}".strip())  # fmt: skip
        for limit in limits:
            ax.axhline(limit, color="gray", linewidth=0.8, linestyle="-.")
        ax.set_title(title, fontsize=9)
        ax.set_xticks(sorted({r["meetings"] for r in results["runs"]}))
        ax.set_ylim(bottom=0)
        ax.set_xlabel("meetings at once")
        ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize=7)
    axes[0][1].legend(fontsize=7)
    m = results["machine"]
    fig.suptitle(
        f"The top of the hour against Slack's rate limits (goals dash-dotted); {m['cores']} cores, "
        f"{results['date']}, {results['commit']}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
