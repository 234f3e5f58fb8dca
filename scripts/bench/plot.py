#!/usr/bin/env python3
"""Plots a pipeline benchmark result (the JSON of scripts/bench/pipeline.py) as one PNG:
left, Mpps per contender per traffic profile (median, whiskers = min..max of the rounds);
right, fastpath's cycles per packet per stage (stacked; I/O stages hatched).
Usage: plot.py RESULTS.json OUT.png   (needs python3-matplotlib)"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"testpmd-io": "#9e9e9e", "l3fwd-lpm": "#1f77b4", "fastpath": "#d62728"}
STAGE_COLORS = {"rx": "#bdbdbd", "parse": "#ff7f0e", "lookup": "#1f77b4", "rewrite": "#2ca02c", "tx": "#9e9e9e"}
IO_STAGES = ("rx", "tx")


def main(src, dst):
    with open(src) as f:
        r = json.load(f)
    profiles = list(r["profiles"])
    contenders = r["contenders"]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(15, 6), gridspec_kw={"width_ratios": [3, 2]})

    width = 0.8 / len(contenders)
    extra = ["#8c564b", "#e377c2", "#17becf", "#bcbd22"]
    for i, c in enumerate(contenders):
        xs = [j + (i - (len(contenders) - 1) / 2) * width for j in range(len(profiles))]
        # A contender that did not run a profile (l3fwd on a two-way one) gets no bar.
        ran = [r["profiles"][p]["contenders"].get(c) for p in profiles]
        med = [e["mpps"] if e else 0.0 for e in ran]
        lo = [m - min(e["samples"]) if e else 0.0 for e, m in zip(ran, med)]
        hi = [max(e["samples"]) - m if e else 0.0 for e, m in zip(ran, med)]
        color = COLORS.get(c) or extra[i % len(extra)]
        ax.bar(xs, med, width, label=c, color=color, yerr=[lo, hi], capsize=2, error_kw={"elinewidth": 0.8})
        for x, m, e in zip(xs, med, ran):
            if e:
                ax.annotate(f"{m:.1f}", (x, m), ha="center", va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(range(len(profiles)))
    ax.set_xticklabels(profiles, rotation=15)
    ax.set_ylabel("Mpps (TX, median of rounds; whiskers min..max)")
    ax.set_title("Forwarding rate, one worker core, net_pcap in / net_null out")
    top = max(max(e["samples"]) for pr in r["profiles"].values() for e in pr["contenders"].values())
    ax.set_ylim(0, top * 1.15)
    ax.legend(loc="upper left", ncol=len(contenders), fontsize=8)
    ax.grid(axis="y", alpha=0.3)

    stages_seen = []
    for p in profiles:
        cyc = r["profiles"][p]["contenders"].get("fastpath", {}).get("cycles") or {}
        for k in cyc:
            if k not in ("total", "excl-io") and k not in stages_seen:
                stages_seen.append(k)
    if stages_seen:
        bottoms = [0.0] * len(profiles)
        for s in stages_seen:
            vals = [(r["profiles"][p]["contenders"]["fastpath"].get("cycles") or {}).get(s, 0) for p in profiles]
            bx.bar(range(len(profiles)), vals, 0.6, bottom=bottoms, label=s, color=STAGE_COLORS.get(s),
                   hatch="//" if s in IO_STAGES else None, edgecolor="white")
            bottoms = [b + v for b, v in zip(bottoms, vals)]
        for j, p in enumerate(profiles):
            cyc = r["profiles"][p]["contenders"]["fastpath"].get("cycles") or {}
            if cyc:
                bx.annotate(f"{cyc.get('total', bottoms[j]):.0f}\n(excl. I/O {cyc.get('excl-io', 0):.0f})", (j, bottoms[j]),
                            ha="center", va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
        bx.set_ylim(0, max(bottoms) * 1.18 or 1)
        bx.legend(title="stage", fontsize=8)
    else:
        bx.text(0.5, 0.5, "fastpath printed no cycles/packet line", ha="center", va="center", transform=bx.transAxes)
    bx.set_xticks(range(len(profiles)))
    bx.set_xticklabels(profiles, rotation=15)
    bx.set_ylabel("cycles per packet (TSC-sampled bursts)")
    bx.set_title("fastpath cost per stage")
    bx.grid(axis="y", alpha=0.3)

    m = r["machine"]
    fig.suptitle(f"fastpath {r['fastpath_rev']} vs dpdk-testpmd io vs l3fwd LPM, full table {r['table']}, "
                 f"{r['date']}\n{m['cores']} cores {m['cpu']} ({m['virt']}), {m['dpdk']}, kernel {m['kernel']}",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(dst, dpi=110)
    print(f"plot: {dst}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
